// ESLint flat config. src and web/src get typescript-eslint's recommended type-checked rules (floating
// and misused promises, unsafe any, ...), with types from the nearest tsconfig (web/tsconfig.json for
// the web app). test and bench get the untyped recommended set: type-checked lint over them too would
// more than double the run time in CI (see docs/architecture.md). Formatting is Prettier's job;
// eslint-config-prettier turns off the rules that would disagree with it.
// test/architecture.style.test.ts runs this in `npm test`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.artifacts/', 'data/', '.tmp/', 'web/dist/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      // `_name` marks a parameter or binding kept on purpose (interface shape, destructuring a field away).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // A `let` read by a callback declared before its one assignment cannot be a const (TDZ).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['src/**/*.ts', 'web/src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // In-memory adapters implement async ports without awaiting anything; `async` keeps them Promise-shaped.
      '@typescript-eslint/require-await': 'off',
      // The `!` on indexed reads is written for noUncheckedIndexedAccess, which the web app may turn on.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Kysely's expression builder is meant to be destructured (`({ not, exists }) => ...`); its methods do not use `this`.
      '@typescript-eslint/unbound-method': 'off',
      // String(x) on unknown input (chat frames, form values, socket data) is deliberate: it only has to name the value.
      '@typescript-eslint/no-base-to-string': 'off',
      // Building URLs from URLSearchParams in templates is the normal use of its toString().
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allow: [{ from: 'lib', name: ['URLSearchParams', 'URL'] }] }],
      // Re-rejecting a caught error passes it on as it came.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
    },
  },
  {
    files: ['web/src/**/*.ts'],
    rules: {
      // DOM listeners are async handlers by design (they show their own errors in the page); the rule's
      // other checks (conditionals, spreads, returns, properties) stay on.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  prettier,
);

// Code style, enforced by `npm test`: ESLint (eslint.config.js: typescript-eslint's type-checked rules
// over src and web/src, the untyped recommended set over test, bench and scripts) must report nothing,
// and Prettier (.prettierrc.json) must find every file formatted. The first case proves the lint can
// fail: a fixture with a floating promise, linted with the repo's own config, is reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = path.resolve(import.meta.dirname, '..');
/** What `npm run lint` and `npm run format:check` cover. */
const DIRS = ['src', 'web/src', 'test', 'bench', 'scripts'];

describe('code style (ESLint and Prettier)', () => {
  it('the repo config reports a floating promise in src, and accepts it awaited or marked void', async () => {
    // Not a file on disk: the type-checked rules see it through a default project.
    const filePath = 'src/style-fixture.ts';
    const eslint = new ESLint({ cwd: root, overrideConfig: { files: [filePath], languageOptions: { parserOptions: { projectService: { allowDefaultProject: [filePath] } } } } });
    const lint = async (body: string) => {
      const [result] = await eslint.lintText(`export async function save(): Promise<void> {}\nexport async function handler(): Promise<void> {\n  ${body}\n}\n`, { filePath });
      return result!.messages.map((m) => `${m.line}:${m.column} ${m.ruleId ?? 'parse'}: ${m.message}`);
    };
    const floating = await lint('save();');
    assert.ok(
      floating.some((m) => m.includes('@typescript-eslint/no-floating-promises')),
      `a floating promise is reported; got:\n${floating.join('\n')}`,
    );
    assert.deepEqual(await lint('await save();'), [], 'an awaited promise is fine');
    assert.deepEqual(await lint('void save();'), [], 'fire-and-forget marked with void is fine');
  });

  it(`${DIRS.join(', ')} pass ESLint (npm run lint)`, async () => {
    const eslint = new ESLint({ cwd: root });
    const results = await eslint.lintFiles(DIRS);
    const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(root, r.filePath)}:${m.line}:${m.column} ${m.ruleId ?? 'parse error'}: ${m.message}`));
    assert.equal(results.length > 300, true, `ESLint saw the repo's files (${results.length})`);
    assert.equal(problems.length, 0, `ESLint problems (${problems.length}):\n${problems.join('\n')}`);
  });

  it(`${DIRS.join(', ')} are formatted by Prettier (npm run format fixes them)`, () => {
    const res = spawnSync(process.execPath, [path.join(root, 'node_modules/prettier/bin/prettier.cjs'), '--list-different', ...DIRS], { cwd: root, encoding: 'utf8' });
    assert.equal(res.stderr.trim(), '', 'prettier ran without errors');
    const unformatted = res.stdout.split('\n').filter(Boolean);
    assert.equal(unformatted.length, 0, `${unformatted.length} file(s) not formatted; run \`npm run format\`:\n${unformatted.join('\n')}`);
    assert.equal(res.status, 0, 'prettier --list-different exits 0');
  });
});

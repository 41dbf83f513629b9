// Each table has one owning capability (src/infra/db/ownership.ts), and only files in that
// capability's folder write SQL against it. This reads every table the migrations create, checks the
// ownership map covers exactly those, then scans every .ts file under src/ for Kysely builder calls
// (selectFrom, insertInto, updateTable, deleteFrom, joins, sql.table/ref) and raw sql`` text, and fails
// naming the file, the table and its owner for each query outside the owner. The few cross-capability
// queries still waiting for their owner's query function are listed in PENDING, one line each.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TABLE_OWNERS } from '../src/infra/db/ownership.js';

const root = path.resolve(import.meta.dirname, '..');
const srcDir = path.join(root, 'src');
const migrationsDir = path.join(srcDir, 'infra/db/migrations');

/**
 * Cross-capability queries not moved yet, as `file (relative to src/) → tables`. Burn this down: each
 * entry goes once the owner exports a query function (or an event) and the file calls that instead.
 * An entry that no longer matches a query fails the check too, so the list cannot go stale.
 */
const PENDING: Record<string, string[]> = {};

/** The capability a file belongs to: its folder under src/, or `infra/<adapter>`; '' for src/ itself. */
export function capabilityOf(relFile: string): string {
  const parts = relFile.split('/');
  if (parts.length === 1) return '';
  return parts[0] === 'infra' && parts.length > 2 ? `infra/${parts[1]}` : parts[0]!;
}

const BUILDER =
  /\.\s*(?:selectFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto|using|innerJoin|leftJoin|rightJoin|fullJoin|crossJoin|innerJoinLateral|leftJoinLateral|crossJoinLateral)\(\s*(\[[^\]]*\]|'[^']*'|"[^"]*")/g;
const SQL_HELPER = /\bsql\.(?:table|ref|id)\(\s*(?:'([^']*)'|"([^"]*)"|`([^`$]*))/g;
const RAW_TABLE = /\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?"?([A-Za-z_][A-Za-z0-9_]*)/gi;

/** Skips a template literal whose opening backtick is at `start`; returns its static text and the index after it. */
function readTemplate(src: string, start: number): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      text += src.slice(i, i + 2);
      i += 2;
    } else if (c === '`') {
      return { text, end: i + 1 };
    } else if (c === '$' && src[i + 1] === '{') {
      i = skipExpression(src, i + 2);
      text += ' ? ';
    } else {
      text += c;
      i++;
    }
  }
  return { text, end: i };
}

/** Skips a `${…}` expression from just inside its brace, nested templates and strings included. */
function skipExpression(src: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '`') i = readTemplate(src, i).end;
    else if (c === "'" || c === '"') {
      i++;
      while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      i++;
    } else {
      if (c === '{') depth++;
      if (c === '}' && --depth === 0) return i + 1;
      i++;
    }
  }
  return i;
}

/** The known tables a source text queries, through the query builder or raw sql`` text. */
export function tablesQueried(source: string, known: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  const add = (name: string | undefined) => {
    const table = name
      ?.trim()
      .split(/\s+as\s+|\s+/i)[0]
      ?.split('.')[0];
    if (table && known.has(table)) found.add(table);
  };
  for (const m of source.matchAll(BUILDER)) {
    const arg = m[1]!;
    if (arg.startsWith('[')) for (const s of arg.matchAll(/'([^']*)'|"([^"]*)"/g)) add(s[1] ?? s[2]);
    else add(arg.slice(1, -1));
  }
  for (const m of source.matchAll(SQL_HELPER)) add(m[1] ?? m[2] ?? m[3]);
  for (const m of source.matchAll(/\bsql(?:\s*<[^`;]*?>)?\s*`/g)) {
    const { text } = readTemplate(source, m.index + m[0].length - 1);
    for (const t of text.matchAll(RAW_TABLE)) add(t[1]);
  }
  return found;
}

/** Every table the migrations create (query builder or raw CREATE TABLE). */
function migrationTables(): Set<string> {
  const tables = new Set<string>();
  for (const f of fs.readdirSync(migrationsDir).filter((n) => /^\d{4}_.*\.ts$/.test(n))) {
    const text = fs.readFileSync(path.join(migrationsDir, f), 'utf8');
    for (const m of text.matchAll(/createTable\(\s*'([a-z0-9_]+)'/g)) tables.add(m[1]!);
    for (const m of text.matchAll(/CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z0-9_]+)/gi)) tables.add(m[1]!);
    // A table built under a temporary name and renamed into place is the table it becomes.
    for (const m of text.matchAll(/ALTER\s+TABLE\s+([a-z0-9_]+)\s+RENAME\s+TO\s+([a-z0-9_]+)/gi)) {
      tables.delete(m[1]!);
      tables.add(m[2]!);
    }
  }
  return tables;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p === migrationsDir ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

export interface Violation {
  file: string;
  table: string;
  owner: string;
}

/** Queries in `files` (src-relative path → source) against a table their capability does not own. */
export function ownershipViolations(files: Record<string, string>, owners: Readonly<Record<string, string>>): Violation[] {
  const known = new Set(Object.keys(owners));
  const out: Violation[] = [];
  for (const [file, source] of Object.entries(files)) {
    const cap = capabilityOf(file);
    for (const table of [...tablesQueried(source, known)].sort()) {
      const owner = owners[table]!;
      if (owner !== cap) out.push({ file, table, owner });
    }
  }
  return out;
}

const owners: Readonly<Record<string, string>> = TABLE_OWNERS;
const describeViolation = (v: Violation) => `src/${v.file} queries ${v.table}, owned by ${v.owner}`;

describe('table ownership', () => {
  it('every table the migrations create has exactly one owner, a folder under src/', () => {
    const created = migrationTables();
    assert.ok(created.size >= 30, `found only ${created.size} tables in the migrations: the scan is broken`);
    assert.deepEqual([...created].filter((t) => !(t in owners)).sort(), [], 'tables without an owner in src/infra/db/ownership.ts');
    assert.deepEqual(
      Object.keys(owners)
        .filter((t) => !created.has(t))
        .sort(),
      [],
      'owners listed for tables no migration creates',
    );
    for (const owner of new Set(Object.values(owners))) assert.ok(fs.statSync(path.join(srcDir, owner)).isDirectory(), `owner ${owner} is not a folder under src/`);
  });

  it("each table's schema type is declared in its owner's folder", () => {
    const declaredIn = new Map<string, string>();
    for (const f of sourceFiles(srcDir)) {
      const text = fs.readFileSync(f, 'utf8');
      const block = /interface Tables\s*\{([^}]*)\}/.exec(text)?.[1];
      if (!block) continue;
      for (const m of block.matchAll(/^\s*([a-z0-9_]+)\s*:/gm)) declaredIn.set(m[1]!, capabilityOf(path.relative(srcDir, f)));
    }
    const misplaced = [...declaredIn].filter(([t, cap]) => t in owners && owners[t] !== cap).map(([t, cap]) => `${t} is declared in ${cap}, owned by ${owners[t]}`);
    assert.deepEqual(misplaced, []);
  });

  it('no file writes SQL against a table its capability does not own, beyond the pending list', () => {
    const files = Object.fromEntries(sourceFiles(srcDir).map((f) => [path.relative(srcDir, f).split(path.sep).join('/'), fs.readFileSync(f, 'utf8')]));
    const found = ownershipViolations(files, owners);
    const pending = new Set(Object.entries(PENDING).flatMap(([file, tables]) => tables.map((t) => `${file} ${t}`)));
    const unexpected = found.filter((v) => !pending.has(`${v.file} ${v.table}`)).map(describeViolation);
    assert.deepEqual(unexpected, [], 'move these queries into the owner (an exported query function) and call it');
    const stillPending = new Set(found.map((v) => `${v.file} ${v.table}`));
    assert.deepEqual(
      [...pending].filter((p) => !stillPending.has(p)),
      [],
      'these PENDING entries are fixed: remove them from the list',
    );
  });

  it('catches a deliberate cross-capability query, by builder and by raw SQL', () => {
    const fixture: Record<string, string> = {
      'trending/leak.ts': [
        `const a = await db.kysely.selectFrom('videos as v').innerJoin('users as u', 'u.id', 'v.owner_id').selectAll().execute();`,
        'await sql`UPDATE video_stats SET views = views + ${n} WHERE video_id = ${id}`.execute(db.kysely);',
        `await trx\n  .deleteFrom(\n    'jobs'\n  ).execute();`,
      ].join('\n'),
      'videos/own.ts': "await db.kysely.selectFrom('videos').selectAll().execute(); await sql<number>`SELECT count(*) FROM video_playback_keys`.execute(x);",
      'clips/nested.ts': 'const q = sql`${sql.ref(`clips.${k}`)} + 1 FROM chat_messages`;',
    };
    assert.deepEqual(ownershipViolations(fixture, owners).map(describeViolation), [
      'src/trending/leak.ts queries jobs, owned by infra/queue',
      'src/trending/leak.ts queries users, owned by accounts',
      'src/trending/leak.ts queries video_stats, owned by engagement',
      'src/trending/leak.ts queries videos, owned by videos',
      'src/clips/nested.ts queries chat_messages, owned by chat',
    ]);
  });

  it('reads table names only where SQL is: comments and other strings do not count', () => {
    const known = new Set(Object.keys(owners));
    assert.deepEqual([...tablesQueried("// reads videos FROM videos\nconst s = 'FROM videos'; log(`UPDATE users`);", known)], []);
    assert.deepEqual([...tablesQueried("db.selectFrom(['videos', 'users as u'])", known)].sort(), ['users', 'videos']);
  });
});

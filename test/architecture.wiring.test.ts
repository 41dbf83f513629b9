// The composition root (src/capabilities.ts) builds each capability from what was built before it:
// no closure there reaches a capability, service or read model declared further down, which would
// make two capabilities need each other. This reads createCapabilities and fails naming each name
// used above the line that declares it; a fixture with such a reference proves the check can fail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '..');

/** Names a function body uses on a line above the one that declares them (`const name =`). */
export function forwardReferences(body: string): string[] {
  const lines = body.split('\n').map((l) => l.replace(/\/\/.*$/, ''));
  const declared = new Map<string, number>();
  lines.forEach((l, i) => {
    const m = /^\s*const\s+(\w+)\s*[:=]/.exec(l);
    if (m && !declared.has(m[1]!)) declared.set(m[1]!, i);
  });
  const out: string[] = [];
  for (const [name, at] of declared) {
    const used = lines.slice(0, at).findIndex((l) => new RegExp(`\\b${name}\\b`).test(l));
    if (used >= 0) out.push(`${name} is used on line ${used + 1} of the function, declared on line ${at + 1}`);
  }
  return out;
}

function createCapabilitiesBody(): string {
  const text = fs.readFileSync(path.join(root, 'src/capabilities.ts'), 'utf8');
  const start = text.indexOf('export function createCapabilities(');
  assert.ok(start >= 0, 'createCapabilities not found in src/capabilities.ts');
  return text.slice(start);
}

describe('composition root wiring', () => {
  it('uses nothing in createCapabilities before the line that builds it', () => {
    const body = createCapabilitiesBody();
    assert.ok((body.match(/^\s*const\s+\w+\s*=/gm) ?? []).length >= 10, 'the scan found too few declarations: it is broken');
    assert.deepEqual(forwardReferences(body), []);
  });

  it('reports a closure that reaches a capability declared below it', () => {
    const fixture = [
      'export function createCapabilities(c: Container): Capability[] {',
      '  const feedState = createFeedState(c, (userId) => channels.service.followeeIds(userId));',
      '  // channels is built here',
      '  const channels = channelsCapability(c, (userId) => feedState.acted(userId));',
      '  return [channels];',
      '}',
    ].join('\n');
    assert.deepEqual(forwardReferences(fixture), ['channels is used on line 2 of the function, declared on line 4']);
  });
});

// Accessibility checks in the browser tests: axe-core (node_modules/axe-core/axe.min.js) put into
// the page, run on the whole document, and only the serious and critical violations returned.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string; nodes: number }>> {
  // Evaluated through the debugging protocol, not as a <script> tag: the app's CSP allows only its
  // own scripts, and a test must not loosen it.
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(`${axeSource}\n;void 0`);
  // A string, like the other page-side snippets: this project's TypeScript has no DOM library.
  const found = (await page.evaluate(`(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact || '', nodes: v.nodes.length }));
  })()`)) as Array<{ id: string; impact: string; nodes: number }>;
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

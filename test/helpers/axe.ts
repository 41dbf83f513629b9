// Accessibility checks in the browser tests: axe-core (the engine behind most a11y tooling)
// injected into the page, reporting the serious and critical violations only.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import type { Page } from 'playwright-core';

let source: string | null = null;

function axeSource(): string {
  source ??= fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return source;
}

export interface AxeViolation {
  id: string;
  impact: string;
  nodes: number;
}

/** Runs axe-core on the page as it is now; returns its serious and critical violations (empty when none). */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string; nodes: number }>> {
  // Evaluated through the DevTools protocol, which the app's Content-Security-Policy (script-src
  // 'self') does not govern: a <script> tag would be refused, as it should be.
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(`${axeSource()}\n;void 0`);
  const found = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact ?? '', nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map((n) => String(n.target)) })))`)) as Array<AxeViolation & { targets: string[] }>;
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes, ...(v.targets.length ? { targets: v.targets } : {}) }));
}

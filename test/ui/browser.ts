/**
 * The browser side of the dashboard tests: Debian's Chromium driven by playwright-core with the launch flags this
 * closed network needs, every request off this machine aborted and recorded, axe-core injected for an accessibility
 * check, and screenshots kept as test artifacts.
 */
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM } from '../../dev/browser.js';

const require = createRequire(import.meta.url);

/** Where screenshots go (git-ignored); the committed copies are in docs/screenshots/. */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../.data/test-results/ui');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** Every request the pages tried to send off this machine (all were aborted). */
  outside: string[];
  close(): Promise<void>;
}

const isLocal = (url: string) => {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.');
};

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'ui-test-chromium-'));
  // A persistent context over a new empty folder: the fresh --user-data-dir the machine notes ask for.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const outside: string[] = [];
  await context.route('**', async (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    outside.push(url);
    return route.abort('blockedbyclient');
  });
  return {
    context,
    outside,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

let axeSource: Promise<string> | undefined;

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(
  page: Page,
): Promise<{ id: string; help: string; targets: string[] }[]> {
  axeSource ??= readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, so the page's Content-Security-Policy (script-src 'self') allows it.
  await page.evaluate(await axeSource);
  const violations = await page.evaluate<AxeViolation[]>('axe.run(document).then((r) => r.violations)');
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, help: v.help, targets: v.nodes.flatMap((n) => n.target) }));
}

/** A full-page screenshot under ARTIFACTS/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

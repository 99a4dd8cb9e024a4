/**
 * Debian's Chromium for the browser tests (test/ui): found at /usr/bin/chromium, or installed with apt-get when this
 * process is root. `npm run setup` and `npm test` call ensureChromium; without root and without the browser the
 * browser tests skip with the reason this module gives.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

export type BrowserCheck = { ok: true; path: string } | { ok: false; reason: string };

/** Whether the browser is here now (no install). */
export function findChromium(): BrowserCheck {
  if (existsSync(CHROMIUM)) return { ok: true, path: CHROMIUM };
  return {
    ok: false,
    reason: `Chromium is not installed (${CHROMIUM}); as root, npm run setup installs it (apt-get install -y chromium)`,
  };
}

/** The browser, installed from Debian's packages first when missing and this process may (root with apt-get). */
export function ensureChromium(log: (message: string) => void): BrowserCheck {
  const found = findChromium();
  if (found.ok) return found;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return found;
  log('installing Chromium for the browser tests (apt-get install -y chromium)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
  ]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) {
      const reason = `apt-get ${args[0]} failed (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
      log(reason);
      return { ok: false, reason };
    }
  }
  return findChromium();
}

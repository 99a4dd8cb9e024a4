/**
 * The Rollouts page in Chromium over the real rollout stack (test/rollouts/fixture.ts: a worker with the routing
 * activities and its own Temporal client, the app reading the routing mirror): a rollout started from the page,
 * driven by /predict calls, shows each step live, waits for the approval given on the page, and ends with the new
 * champion; no request leaves this machine and axe-core finds no serious violation.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../dev/browser.js';
import { TEST_API_KEY } from '../helpers.js';
import { RIDE, startRolloutFixture, type RolloutFixture } from '../rollouts/fixture.js';
import { launchBrowser, screenshot, seriousViolations, type TestBrowser } from './browser.js';

const browser = findChromium();
if (!browser.ok) console.log(`[test/ui] rollout browser tests skipped: ${browser.reason}`);

describe.skipIf(!browser.ok)('rollouts page in Chromium, on the real rollout stack', () => {
  let f: RolloutFixture;
  let server: ServerType;
  let base: string;
  let b: TestBrowser;
  let page: Page;
  const consoleErrors: string[] = [];

  const predict = async (n: number) => {
    const versions: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...RIDE, trip_distance: 1 + i }),
      });
      expect(res.status).toBe(200);
      versions.push(((await res.json()) as { model_version: string }).model_version);
    }
    return versions;
  };

  beforeAll(async () => {
    f = await startRolloutFixture();
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: f.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    b = await launchBrowser();
    page = b.context.pages()[0] ?? (await b.context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (err) => consoleErrors.push(err.message));
  });
  afterAll(async () => {
    await b?.close();
    if (f) f.deps.lifecycle.shuttingDown = true; // ends the open SSE feeds
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await f?.close();
  });

  it('starts a rollout from the page, shows its steps live, approves it and shows the new champion', async () => {
    await page.goto(`${base}/ui/rollouts`);
    await page.getByLabel('API key', { exact: true }).fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('Live updates: on', { exact: false }).waitFor();
    const rides = page.getByRole('region', { name: 'ride-duration' });
    const figure = (label: string) =>
      rides
        .locator('dt', { hasText: new RegExp(`^${label}$`) })
        .first()
        .locator('+ dd');
    await expect(figure('Champion').textContent()).resolves.toBe('2');

    await rides.getByText('Start a rollout', { exact: true }).click();
    const form = rides.getByRole('form', { name: 'Start a rollout of ride-duration' });
    await form.getByLabel('Version', { exact: true }).selectOption('1');
    await form.getByLabel('Canary steps (%)').fill('50, 100');
    await form.getByLabel('Step seconds').fill('1');
    await form.getByLabel('Max error rate').fill('');
    await form.getByLabel('Min samples').fill('0');
    await form.getByLabel('Approval').selectOption('manual');
    await form.getByRole('button', { name: 'Start rollout…' }).click();
    const start = page.getByRole('dialog', { name: 'Start a rollout of ride-duration' });
    await start
      .getByText('Roll out version 1 over canary steps 50 → 100 % of 1 s each', { exact: false })
      .waitFor();
    await start.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByText('Rollout of version 1 started on ride-duration.').waitFor();

    // Live, without a reload: the first step (canary 50 %) shows as the routing changes; calls meet both versions.
    await expect.poll(() => figure('Canary').textContent(), { timeout: 30_000 }).toBe('50 %');
    await expect(figure('Challenger').textContent()).resolves.toBe('1');
    await predict(8);
    const approve = rides.getByRole('button', { name: 'Approve…' });
    await approve.waitFor({ timeout: 30_000 });
    const { rollouts } = (await (
      await fetch(`${base}/deployments/ride-duration/rollouts`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      })
    ).json()) as { rollouts: { spec: { id: string }; steps: { figures: { samples: number } | null }[] }[] };
    const id = rollouts[0]?.spec.id ?? '';
    expect(id).toMatch(/^v1-/);
    const steps = rides.getByRole('table', { name: `Steps of rollout ${id}` });
    const first = steps.getByRole('row').nth(1);
    await expect(first.textContent()).resolves.toContain('1/250 %passed');
    const samples = rollouts[0]?.steps[0]?.figures?.samples;
    expect(samples).toBeTypeOf('number');
    await expect(first.locator('td').nth(4).textContent()).resolves.toBe(String(samples));
    await rides.getByRole('heading', { name: `Rollout ${id} awaiting_approval` }).waitFor();

    await approve.click();
    const dialog = page.getByRole('dialog', { name: `Approve rollout ${id}` });
    await dialog.getByLabel('Reason (optional, kept in the routing history)').fill('figures look right');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await page.getByText(`Rollout ${id}: approve accepted.`).waitFor();

    await rides.getByRole('heading', { name: `Rollout ${id} succeeded` }).waitFor({ timeout: 30_000 });
    await expect.poll(() => figure('Champion').textContent()).toBe('1');
    await expect(figure('Challenger').textContent()).resolves.toBe('none');
    await expect(figure('Running rollout').textContent()).resolves.toBe('none');
    await expect(steps.getByRole('row').filter({ hasText: 'passed' }).count()).resolves.toBe(2);
    await rides.getByText(/^Outcome: version 1 promoted to champion after 2 steps/).waitFor();
    const list = rides.getByRole('table', { name: 'Rollouts of ride-duration, newest first' });
    await expect(list.getByRole('row').nth(1).textContent()).resolves.toContain('succeeded');
    const history = rides.getByRole('list', { name: 'Routing history of ride-duration, newest first' });
    await expect(history.getByRole('listitem').first().textContent()).resolves.toContain(
      'champion 1 · no challenger',
    );
    expect(await history.getByRole('listitem').count()).toBeGreaterThanOrEqual(4); // claim, 50 %, 100 %, release
    expect(await predict(3)).toEqual(['1', '1', '1']);

    expect(await seriousViolations(page), 'axe on rollouts').toEqual([]);
    await page.evaluate('document.getElementById("toast").classList.remove("shown")');
    await screenshot(page, 'rollouts');
    expect(consoleErrors).toEqual([]);
    expect(b.outside).toEqual([]);
  });
});

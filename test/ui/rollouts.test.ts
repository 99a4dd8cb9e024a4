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

  const rides = () => page.getByRole('region', { name: 'ride-duration', exact: true });
  const figure = (label: string) =>
    rides()
      .locator('dt', { hasText: new RegExp(`^${label}$`) })
      .first()
      .locator('+ dd');
  const confirm = async (dialogName: string, button: string, reason?: string) => {
    const dialog = page.getByRole('dialog', { name: dialogName });
    if (reason) await dialog.getByLabel('Reason (optional, kept in the routing history)').fill(reason);
    await dialog.getByRole('button', { name: button, exact: true }).click();
  };
  const startFromPage = async (version: string, stepSeconds: number) => {
    await rides().getByText('Start a rollout', { exact: true }).click();
    const form = rides().getByRole('form', { name: 'Start a rollout of ride-duration' });
    await form.getByLabel('Version', { exact: true }).selectOption(version);
    await form.getByLabel('Canary steps (%)').fill('50, 100');
    await form.getByLabel('Step seconds').fill(String(stepSeconds));
    await form.getByLabel('Max error rate').fill('');
    await form.getByLabel('Min samples').fill('0');
    await form.getByLabel('Approval').selectOption('manual');
    await form.getByRole('button', { name: 'Start rollout…' }).click();
  };
  const api = async <T>(path: string): Promise<T> =>
    (await (
      await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })
    ).json()) as T;

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
    await expect(figure('Champion').textContent()).resolves.toBe('2');

    await startFromPage('1', 1);
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
    const approve = rides().getByRole('button', { name: 'Approve…' });
    await approve.waitFor({ timeout: 30_000 });
    const { rollouts } = await api<{
      rollouts: { spec: { id: string }; steps: { figures: { samples: number } | null }[] }[];
    }>('/deployments/ride-duration/rollouts');
    const id = rollouts[0]?.spec.id ?? '';
    expect(id).toMatch(/^v1-/);
    const steps = rides().getByRole('table', { name: `Steps of rollout ${id}` });
    const first = steps.getByRole('row').nth(1);
    await expect(first.textContent()).resolves.toContain('1/250 %passed');
    const samples = rollouts[0]?.steps[0]?.figures?.samples;
    expect(samples).toBeTypeOf('number');
    await expect(first.locator('td').nth(4).textContent()).resolves.toBe(String(samples));
    await rides()
      .getByRole('heading', { name: `Rollout ${id} awaiting_approval` })
      .waitFor();

    await approve.click();
    await confirm(`Approve rollout ${id}`, 'Approve', 'figures look right');
    await page.getByText(`Rollout ${id}: approve accepted.`).waitFor();

    await rides()
      .getByRole('heading', { name: `Rollout ${id} succeeded` })
      .waitFor({ timeout: 30_000 });
    await expect.poll(() => figure('Champion').textContent()).toBe('1');
    await expect(figure('Approval').textContent()).resolves.toMatch(
      /^manual: approved by api-key:[0-9a-f]{8} \(dashboard\) at .+ \(figures look right\)$/,
    );
    await expect(figure('Challenger').textContent()).resolves.toBe('none');
    await expect(figure('Running rollout').textContent()).resolves.toBe('none');
    await expect(steps.getByRole('row').filter({ hasText: 'passed' }).count()).resolves.toBe(2);
    await rides()
      .getByText(/^Outcome: version 1 promoted to champion after 2 steps/)
      .waitFor();
    const list = rides().getByRole('table', { name: 'Rollouts of ride-duration, newest first' });
    await expect(list.getByRole('row').nth(1).textContent()).resolves.toContain('succeeded');
    const history = rides().getByRole('list', { name: 'Routing history of ride-duration, newest first' });
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

  it('pauses, resumes and aborts a rollout from the page, then sets and clears a challenger', async () => {
    await page.goto(`${base}/ui`);
    await page.evaluate(`sessionStorage.setItem('model-serving.api-key', ${JSON.stringify(TEST_API_KEY)})`);
    await page.goto(`${base}/ui/rollouts`);
    await page.getByText('Live updates: on', { exact: false }).waitFor();
    const { champion } = await api<{ champion: string }>('/deployments/ride-duration/routing');
    const other = champion === '1' ? '2' : '1';

    await startFromPage(other, 600);
    await confirm('Start a rollout of ride-duration', 'Start rollout');
    await expect.poll(() => figure('Canary').textContent(), { timeout: 30_000 }).toBe('50 %');
    const id = (await figure('Running rollout').textContent()) ?? '';
    const heading = (status: string) => rides().getByRole('heading', { name: `Rollout ${id} ${status}` });
    await heading('running').waitFor();
    // While it runs, the routing belongs to it: the page says so and offers no change.
    await rides().getByText('Challenger and shares', { exact: true }).click();
    await rides().getByText(`Rollout ${id} owns the routing until it ends.`).last().waitFor();
    await expect(rides().getByRole('button', { name: 'Set challenger…' }).isDisabled()).resolves.toBe(true);

    await rides().getByRole('button', { name: 'Pause…' }).click();
    await confirm(`Pause rollout ${id}`, 'Pause');
    await heading('paused').waitFor();
    await rides().getByRole('button', { name: 'Resume…' }).click();
    await confirm(`Resume rollout ${id}`, 'Resume');
    await heading('running').waitFor();
    await rides().getByRole('button', { name: 'Abort…' }).click();
    await confirm(`Abort rollout ${id}`, 'Abort', 'not today');
    await heading('aborted').waitFor({ timeout: 30_000 });
    await rides()
      .getByText(/^Outcome: aborted by api-key:[0-9a-f]{8} \(dashboard\): not today$/)
      .waitFor();
    await expect.poll(() => figure('Challenger').textContent()).toBe('none');
    await expect(figure('Champion').textContent()).resolves.toBe(champion);
    const steps = rides().getByRole('table', { name: `Steps of rollout ${id}` });
    await expect(steps.getByRole('row').nth(1).textContent()).resolves.toContain('1/250 %stopped');

    await rides().getByText('Challenger and shares', { exact: true }).click();
    const form = rides().getByRole('form', { name: 'Set the challenger of ride-duration' });
    await form.getByLabel('Challenger').selectOption(other);
    await form.getByLabel('Canary (%)').fill('20');
    await form.getByLabel('Shadow (%)').fill('50');
    await form.getByLabel('Sticky key').selectOption('header');
    await form.getByLabel('Sticky name').fill('x-user');
    await form.getByRole('button', { name: 'Set challenger…' }).click();
    await confirm('Set challenger', 'Set challenger', 'try it on some users');
    await expect.poll(() => figure('Challenger').textContent()).toBe(other);
    await expect(figure('Canary').textContent()).resolves.toBe('20 %');
    await expect(figure('Shadow').textContent()).resolves.toBe('50 %');
    await expect(figure('Sticky key').textContent()).resolves.toBe('header x-user');
    const history = rides().getByRole('list', { name: 'Routing history of ride-duration, newest first' });
    await expect(history.getByRole('listitem').first().textContent()).resolves.toMatch(
      new RegExp(
        `champion ${champion} · challenger ${other} \\(canary 20 %, shadow 50 %\\).*\\(dashboard\\): try it on some users`,
      ),
    );
    expect(await api('/deployments/ride-duration/routing')).toMatchObject({
      challenger: other,
      canary: 20,
      shadow: 50,
      sticky: { header: 'x-user' },
    });

    await rides().getByText('Challenger and shares', { exact: true }).click();
    await rides().getByRole('button', { name: 'Clear challenger…' }).click();
    await confirm('Clear challenger', 'Clear challenger');
    await expect.poll(() => figure('Challenger').textContent()).toBe('none');
    expect(await api('/deployments/ride-duration/routing')).toMatchObject({ challenger: null, canary: 0 });

    // At a phone width the page does not scroll sideways (wide tables scroll inside their own box).
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await seriousViolations(page), 'axe on rollouts at a phone width').toEqual([]);
    await page.evaluate('document.getElementById("toast").classList.remove("shown")');
    await screenshot(page, 'rollouts-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(consoleErrors).toEqual([]);
    expect(b.outside).toEqual([]);
  });
});

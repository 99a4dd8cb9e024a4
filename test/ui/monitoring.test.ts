/**
 * The Monitoring page in Chromium over the real stack (test/rollouts/fixture.ts): a generated month, a batch day
 * scored and labelled with the rides' true durations, drift computed from the page for two days (the second with
 * every distance x1.5): the page shows the batch performance row the API answers, the PSI of every feature and
 * window as text in the heatmap, exactly one alert (also relayed live over /ui/api/monitoring/alerts/events), and
 * the batch page charts the day's MAE; axe-core finds no serious violation and no request leaves this machine.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileDeployment } from '../../activities/drift.js';
import { BATCH_WORKFLOW, type BatchRunSummary } from '../../contracts/batch.js';
import type { DriftWindow, PerformanceRow } from '../../contracts/monitoring.js';
import { generateIntoDb } from '../../data/generate-db.js';
import { findChromium } from '../../dev/browser.js';
import { modelOf } from '../../platform/deployments.js';
import { TEST_API_KEY, uniqueId } from '../helpers.js';
import { startRolloutFixture, type RolloutFixture } from '../rollouts/fixture.js';
import { launchBrowser, screenshot, seriousViolations, type TestBrowser } from './browser.js';

const browser = findChromium();
if (!browser.ok) console.log(`[test/ui] monitoring browser tests skipped: ${browser.reason}`);

const D = '/deployments/ride-duration';
const SCORED = { from: '2030-07-02T00:00:00', to: '2030-07-03T00:00:00' };
const STRETCHED = { from: '2030-07-03T00:00:00', to: '2030-07-04T00:00:00' };

describe.skipIf(!browser.ok)('monitoring page in Chromium, on the real stack', () => {
  let f: RolloutFixture;
  let server: ServerType;
  let base: string;
  let b: TestBrowser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    f = await startRolloutFixture();
    // About 1000 rides a day, so a day's PSI without a shift stays well under the threshold (0.1).
    await generateIntoDb(f.db.pool, { month: '2030-07', rows: 30_000, seed: 21 });
    // The generated month is not drawn from January 2021 (the committed reference): profile the served card's
    // reference from the month's first half instead, in the API's registry (memory only, like drift.test.ts).
    const deployment = f.deps.deployments?.get('ride-duration');
    const served = deployment ? modelOf(f.deps.scorer, deployment.spec) : undefined;
    if (!deployment || !served || typeof served === 'string') throw new Error('no ride-duration deployment');
    const reference = await profileDeployment(
      f.db.pool,
      deployment,
      served,
      '2030-07-01T00:00:00',
      '2030-07-16T00:00:00',
    );
    Object.assign(served.card, { monitoring: { ...served.card.monitoring, reference } });

    const run = (await (
      await f.temporal.client.workflow.start(BATCH_WORKFLOW, {
        taskQueue: f.worker.taskQueue,
        workflowId: uniqueId('batch-ui-monitoring'),
        // No window at the end of the run: the page computes the day's window itself below.
        args: [{ deployment: 'ride-duration', ...SCORED, drift: false }],
      })
    ).result()) as BatchRunSummary;
    expect(run.rowsScored).toBeGreaterThan(500);
    const { rows: rides } = await f.db.pool.query<{ ride_id: string; actual_duration: number }>(
      'SELECT ride_id, actual_duration FROM rides WHERE pickup_datetime >= $1 AND pickup_datetime < $2',
      [SCORED.from, SCORED.to],
    );
    const labels = rides.map((r) => ({ key: r.ride_id, label: r.actual_duration }));
    const res = await f.send('POST', `${D}/feedback`, labels);
    expect(res.status, await res.clone().text()).toBe(200);
    await f.db.pool.query(
      'UPDATE rides SET trip_distance = trip_distance * 1.5 WHERE pickup_datetime >= $1 AND pickup_datetime < $2',
      [STRETCHED.from, STRETCHED.to],
    );

    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: f.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    b = await launchBrowser();
    page = b.context.pages()[0] ?? (await b.context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (err) => consoleErrors.push(err.message));
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    if (f) f.deps.lifecycle.shuttingDown = true; // ends the open SSE feeds
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await f?.close();
  });

  const rides = () => page.getByRole('region', { name: 'ride-duration', exact: true });
  const computeFromPage = async (window: { from: string; to: string }, toastText: string) => {
    const form = rides().getByRole('form', { name: 'Compute drift of ride-duration' });
    await form.getByLabel('Window from').fill(window.from.slice(0, 10));
    await form.getByLabel('To, exclusive').fill(window.to.slice(0, 10));
    await form.getByRole('button', { name: 'Compute drift…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Compute drift of ride-duration' });
    await dialog
      .getByText(`Compare the batch source over [${window.from.slice(0, 10)}, ${window.to.slice(0, 10)})`, {
        exact: false,
      })
      .waitFor();
    await dialog.getByRole('button', { name: 'Compute drift', exact: true }).click();
    await page.getByText(toastText, { exact: false }).waitFor();
  };

  it('shows performance per version, the PSI heatmap and one alert for the stretched day', async () => {
    // The alert relay, read as the page reads it (SSE over fetch with the key).
    const relay = new AbortController();
    const relayed: string[] = [];
    const feed = await fetch(`${base}/ui/api/monitoring/alerts/events`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}`, accept: 'text/event-stream' },
      signal: relay.signal,
    });
    expect(feed.status).toBe(200);
    const reading = (async () => {
      const reader = feed.body?.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const chunk = await reader?.read().catch(() => undefined);
        if (!chunk || chunk.done) return;
        relayed.push(chunk.value);
      }
    })();

    await page.goto(`${base}/ui/monitoring`);
    await page.getByLabel('API key', { exact: true }).fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('Live updates: on (a new alert shows at once)').waitFor();
    await rides().getByText('No drift window computed yet', { exact: false }).waitFor();

    // Performance: the scored day's batch row, as the API answers it.
    const period = rides().getByRole('form', { name: 'Period of the performance of ride-duration' });
    await period.getByLabel('From', { exact: true }).fill('2030-07-01');
    await period.getByLabel('To, exclusive').fill('2030-08-01');
    await period.getByRole('button', { name: 'Show' }).click();
    const metrics = (await (
      await f.send('GET', `${D}/metrics?from=2030-07-01T00:00:00Z&to=2030-08-01T00:00:00Z&window=day`)
    ).json()) as { rows: PerformanceRow[] };
    const batchRow = metrics.rows.find((r) => r.mode === 'batch');
    expect(batchRow).toMatchObject({ version: '2', window: '2030-07-02T00:00:00.000Z' });
    const perf = rides().getByRole('table', {
      name: 'Performance of ride-duration per mode, version and day',
    });
    const cells = perf.getByRole('row').filter({ hasText: '2030-07-02' }).first().locator('td');
    // The table is drawn again when the period's answer arrives: wait for that row, not for the click.
    await expect
      .poll(() => cells.allTextContents())
      .toEqual([
        'batch',
        '2',
        '2030-07-02',
        batchRow?.labelled.toLocaleString('en-US'),
        batchRow?.mae?.toFixed(3),
        batchRow?.rmse?.toFixed(3),
        batchRow?.inRange?.mae?.toFixed(3),
        batchRow?.inRange?.labelled.toLocaleString('en-US'),
      ]);
    const plot = page.locator('#mon-ride-duration-perf-batch-plot');
    await expect(plot.getAttribute('aria-label')).resolves.toBe(
      `batch: MAE per version by day: 1 window; latest version 2 ${Number(batchRow?.mae?.toFixed(2))} on 2030-07-02`,
    );
    await expect(plot.locator('canvas').count()).resolves.toBe(1);

    // Drift of two days from the page: the plain one, then the one whose distances are 1.5x.
    await computeFromPage(SCORED, 'no feature drifted');
    await computeFromPage(STRETCHED, 'drifted: trip_distance');
    const alerts = rides().getByRole('table', { name: 'Alerts of ride-duration, newest first' });
    await alerts.waitFor();
    await expect(alerts.locator('tbody tr').count()).resolves.toBe(1);
    await expect(alerts.locator('tbody tr td').nth(3).textContent()).resolves.toBe('2030-07-03');
    await expect(alerts.locator('tbody tr td').nth(4).textContent()).resolves.toBe('trip_distance');

    const listed = (await (await f.send('GET', `${D}/drift`)).json()) as {
      windows: DriftWindow[];
      alerts: unknown[];
    };
    expect(listed.windows.map((w) => w.from).sort()).toEqual([SCORED.from, STRETCHED.from]);
    expect(listed.alerts).toHaveLength(1);
    const heatmap = rides().getByRole('table', {
      name: /^Drift of ride-duration: PSI per feature and window/,
    });
    await expect(heatmap.locator('thead th').allTextContents()).resolves.toEqual([
      'Feature',
      '2030-07-02',
      '2030-07-03',
    ]);
    for (const w of listed.windows) {
      expect(w.features.length).toBeGreaterThan(0);
      for (const feature of w.features) {
        const cell = heatmap.locator(`td[data-field="${feature.field}"][data-window="${w.from}"]`);
        await expect(cell.locator('.psi').textContent()).resolves.toBe(feature.psi.toFixed(3));
        const drifted = w.from === STRETCHED.from && feature.field === 'trip_distance';
        const classes = ((await cell.getAttribute('class')) ?? '').split(' ');
        expect(classes.includes('drifted'), `${feature.field} on ${w.from}`).toBe(drifted);
      }
    }
    await rides().getByText('above the threshold 0.1 has drifted', { exact: false }).waitFor();

    // The NOTIFY went out once, relayed as an SSE `alert` for the stretched day.
    await expect.poll(() => relayed.join('').includes('event: alert'), { timeout: 5000 }).toBe(true);
    const alertEvents = relayed.join('').split('event: alert').length - 1;
    expect(alertEvents).toBe(1);
    expect(relayed.join('')).toContain(STRETCHED.from);
    relay.abort();
    await reading;

    expect(await seriousViolations(page), 'axe on monitoring').toEqual([]);
    await page.evaluate('document.getElementById("toast").classList.remove("shown")');
    await screenshot(page, 'monitoring');

    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 800 });

    // The batch page charts the scored day's MAE per version.
    await page.getByRole('link', { name: 'Batch runs', exact: true }).click();
    const mae = page.locator('#batch-mae-plot');
    await expect
      .poll(() => mae.getAttribute('aria-label'))
      .toMatch(/: 1 day, 1 version; newest 2030-07-02 ride-duration@2 [\d.]+$/);
    expect(await seriousViolations(page), 'axe on batch').toEqual([]);

    // The overview's Monitoring card: the alert, the latest window's drifted feature, the labelled day's MAE.
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    const card = page.getByRole('region', { name: 'Monitoring', exact: true });
    await card.getByText('1 alert this week').waitFor();
    const line = card.getByRole('listitem').filter({ hasText: 'ride-duration' });
    await expect(line.textContent()).resolves.toMatch(
      new RegExp(
        '^ride-duration: drift 2030-07-03(?: \\(batch\\))?: trip_distance drifted · ' +
          `latest alert drift v2 2030-07-03 · MAE ${Number(batchRow?.mae?.toFixed(2))} batch v2 on 2030-07-02$`,
      ),
    );
    expect(await seriousViolations(page), 'axe on overview').toEqual([]);
    await screenshot(page, 'overview-monitoring');
    expect(consoleErrors).toEqual([]);
    expect(b.outside).toEqual([]);
  }, 120_000);
});

/**
 * The dashboard (/ui) and the docs page (/docs) in a real browser (Debian's Chromium through playwright-core) over
 * the real app, Temporal server, worker and Postgres: a batch run started from the page shows in its table, stream
 * events and a dead letter show live and are replayed from the page, online requests show in the metrics page. No
 * request leaves this machine, axe-core finds no serious violation, and each page is kept as a screenshot.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_WORKFLOW, type BatchRunSummary } from '../../contracts/batch.js';
import { generateIntoDb } from '../../data/generate-db.js';
import { findChromium } from '../../dev/browser.js';
import {
  createTestApp,
  startTestWorker,
  TEST_API_KEY,
  uniqueId,
  waitFor,
  type TestApp,
  type TestWorker,
} from '../helpers.js';
import { launchBrowser, screenshot, seriousViolations, type TestBrowser } from './browser.js';

const browser = findChromium();
if (!browser.ok) console.log(`[test/ui] browser tests skipped: ${browser.reason}`);

const ride = (distance: number) => ({ PULocationID: 10, DOLocationID: 50, trip_distance: distance });

describe.skipIf(!browser.ok)('dashboard and docs in Chromium, outside network blocked', () => {
  const taskQueue = uniqueId('tq');
  const streamId = uniqueId('ui');
  let t: TestApp;
  let worker: TestWorker;
  let server: ServerType;
  let base: string;
  let b: TestBrowser;
  let page: Page;
  const consoleErrors: string[] = [];

  const api = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  /** axe-core finds nothing serious, then a full-page screenshot. */
  const check = async (name: string) => {
    expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
    await page.evaluate('document.getElementById("toast").classList.remove("shown")'); // not over the content
    await screenshot(page, name);
  };

  beforeAll(async () => {
    t = await createTestApp({ taskQueue });
    worker = await startTestWorker({ pool: t.db.pool, scorer: t.scorer, taskQueue });
    await generateIntoDb(t.db.pool, { month: '2030-07', rows: 600, seed: 7 });
    // About 1000 rides a day: a run of one day in batches of 5 rows commits about 200 times.
    await generateIntoDb(t.db.pool, { month: '2030-08', rows: 31_000, seed: 8 });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: t.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    b = await launchBrowser();
    page = b.context.pages()[0] ?? (await b.context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => {
      // A refused request (the wrong-key attempt) is logged by Chromium itself; anything else is the page's.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
  });
  afterAll(async () => {
    await b?.close();
    t.deps.lifecycle.shuttingDown = true; // ends the open SSE feeds
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await worker?.stop();
    await t?.close();
  });

  it('/docs renders every operation from same-origin assets, with nothing asked of the outside', async () => {
    const html = await (await fetch(`${base}/docs`)).text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(refs.length).toBeGreaterThan(1);
    for (const ref of refs) {
      expect(ref, 'a same-origin path').toMatch(/^\/[^/]/);
      expect((await fetch(`${base}${ref}`)).status, ref).toBe(200);
    }
    const docs = await b.context.newPage();
    await docs.goto(`${base}/docs`);
    await docs.locator('.opblock').first().waitFor();
    const { paths } = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, object>;
    };
    const operations = Object.values(paths).reduce((n, p) => n + Object.keys(p).length, 0);
    await expect.poll(() => docs.locator('.opblock').count()).toBe(operations);
    await expect(
      docs.locator('.opblock-summary-path', { hasText: '/batch-runs/{id}' }).first().isVisible(),
    ).resolves.toBe(true);
    await screenshot(docs, 'docs');
    await docs.close();
    expect(b.outside).toEqual([]);
  });

  it('asks for the API key once, refuses a wrong one, then shows the overview', async () => {
    await page.goto(`${base}/ui`);
    await page.getByLabel('API key', { exact: true }).fill('wrong-key-000000000000');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('The API refused this key.').waitFor();
    await check('key');
    await page.getByLabel('API key', { exact: true }).fill(TEST_API_KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByText('2 of 2 ready').waitFor();
    await page.getByText('0 runs').waitFor();
    const monitoring = page.getByRole('region', { name: 'Monitoring', exact: true });
    await monitoring.getByText('No alert this week').waitFor();
    const lines = await monitoring.getByRole('listitem').allTextContents();
    expect(lines.sort()).toEqual([
      'penguin-species: no drift window yet · no labelled prediction lately',
      'ride-duration: no drift window yet · no labelled prediction lately',
    ]);
    await check('overview');
    // The key stays for the tab: a reload goes straight to the page.
    await page.reload();
    await page.getByText('2 of 2 ready').waitFor();
  });

  it('deployments: files, model versions with their cards, and an alias moved after a confirmation', async () => {
    await page.getByRole('link', { name: 'Deployments', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Deployments', level: 1 }).waitFor();
    for (const name of ['ride-duration', 'penguin-species'])
      await page.getByRole('heading', { name: `${name} ready`, level: 3 }).waitFor();
    const versions = page.getByRole('table', { name: 'Loaded model versions and their aliases' });
    await expect(versions.getByRole('row').count()).resolves.toBe(1 + 3); // ride-duration 1, 2 and penguin-species 1
    await check('deployments');

    await page.getByLabel('Model', { exact: true }).selectOption('ride-duration');
    await page.getByLabel('Alias', { exact: true }).fill('staging');
    await page.getByLabel('Version', { exact: true }).selectOption('2');
    await page.getByRole('button', { name: 'Set alias…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Move an alias' });
    await dialog.getByText('Point ride-duration@staging at version 2?', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(t.scorer.aliasStore.get('ride-duration', 'staging')).toBe('1');
    await page.getByRole('button', { name: 'Set alias…' }).click();
    await dialog.getByRole('button', { name: 'Move alias' }).click();
    await page.getByText('ride-duration@staging now points at version 2 (was 1).').waitFor();
    expect(t.scorer.aliasStore.get('ride-duration', 'staging')).toBe('2');
  });

  it('batch: a run started from the page shows live in the table and the chart, with its Temporal link', async () => {
    await page.getByRole('link', { name: 'Batch runs', exact: true }).click();
    await page.getByText('Live updates: on', { exact: false }).waitFor();
    await page.getByText('No batch run yet', { exact: false }).waitFor();
    await page.getByLabel('Deployment').selectOption('ride-duration');
    await page.getByLabel('From (optional)').fill('2030-07-01');
    await page.getByLabel('To, exclusive (optional)').fill('2030-07-04');
    await page.getByRole('button', { name: 'Start run…' }).click();
    await page
      .getByRole('dialog', { name: 'Start a batch run' })
      .getByRole('button', { name: 'Start run' })
      .click();
    await page.getByText(/^Started batch-/).waitFor();

    // No reload: the rows come over the live feed (NOTIFY batch_runs) as the run and its days finish.
    const runs = page.getByRole('table', { name: 'Batch runs, newest first' });
    await expect
      .poll(() => runs.getByRole('row').filter({ hasText: 'completed' }).count(), { timeout: 60_000 })
      .toBe(4); // the run and its three days
    const { rows } = await t.db.pool.query<{
      partition_key: string;
      rows_scored: string;
      workflow_id: string;
    }>(
      `SELECT partition_key, rows_scored::text, workflow_id FROM batch_runs WHERE parent_run_id IS NOT NULL`,
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      const row = runs.getByRole('row').filter({ hasText: r.partition_key }).first();
      await expect(row.textContent()).resolves.toContain(`ride-duration@2${Number(r.rows_scored)}`);
      const link = row.getByRole('link', { name: `Open ${r.workflow_id} in the Temporal Web UI` });
      await expect(link.getAttribute('href')).resolves.toContain(
        `/namespaces/default/workflows/${encodeURIComponent(r.workflow_id)}/`,
      );
    }
    const plot = page.locator('#batch-speed-plot');
    await expect(plot.getAttribute('aria-label')).resolves.toMatch(
      /4 completed runs, fastest [\d,]+ rows\/s/,
    );
    await expect(plot.locator('canvas').count()).resolves.toBe(1);
    // The generated rides carry their durations: each day's MAE per version (the three days, not the parent run).
    const mae = page.locator('#batch-mae-plot');
    await expect(mae.getAttribute('aria-label')).resolves.toMatch(
      /: 3 days, 1 version; newest 2030-07-0[1-3] ride-duration@2 [\d.]+$/,
    );
    await expect(mae.locator('canvas').count()).resolves.toBe(1);
    await check('batch');
  });

  it("batch: a running run's rows, share and rows/s update live in its row, from NOTIFY batch_progress", async () => {
    await page.getByText('Live updates: on', { exact: false }).waitFor();
    // Every text the progress cells of running rows take, as the page writes them (no reload, no polling).
    await page.evaluate(`(() => {
      window.progressSeen = [];
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes)
            if (r.target.classList?.contains('progress-text')) window.progressSeen.push(n.textContent);
      }).observe(document.getElementById('batch-table'), { childList: true, subtree: true });
    })()`);
    const handle = await t.deps.temporal.workflow.start(BATCH_WORKFLOW, {
      taskQueue,
      workflowId: uniqueId('batch-live'),
      args: [
        {
          deployment: 'ride-duration',
          from: '2030-08-01T00:00:00',
          to: '2030-08-02T00:00:00',
          chunkSize: 100,
          batchRows: 5,
          maxParallelChunks: 1,
          // Not a monitored window: the monitoring page below shows only the 3-day run's days.
          drift: false,
        },
      ],
    });
    const runs = page.getByRole('table', { name: 'Batch runs, newest first' });
    const row = runs.getByRole('row').filter({ hasText: handle.workflowId });
    // While it runs: a bar with its share, rows so far of the planned rows, the chunk.
    await row.getByRole('progressbar', { name: 'Progress of the run of 2030-08-01' }).waitFor();
    const summary = (await handle.result()) as BatchRunSummary;
    const total = summary.rowsScored + summary.rowsRejected;
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('completed');
    await expect(row.textContent()).resolves.toContain(
      `ride-duration@2${summary.rowsScored.toLocaleString('en-US')}`,
    );
    const seen = await page.evaluate<string[]>('window.progressSeen');
    const shares: number[] = [];
    for (const text of seen) {
      const m = /^(\d+)% · ([\d,]+) of ([\d,]+) rows, chunk (\d+) of (\d+)$/.exec(text);
      if (!m) continue;
      expect(Number(m[3]?.replace(/,/g, ''))).toBe(total);
      expect(Number(m[5])).toBe(Math.ceil(total / 100));
      shares.push(Number(m[1]));
    }
    // Several steps seen between the first batch and the end, never going back.
    expect(shares.filter((p) => p > 0 && p < 100).length, seen.join(' | ')).toBeGreaterThan(2);
    expect(shares).toEqual([...shares].sort((a, b) => a - b));
    expect(b.outside).toEqual([]);
  });

  it('streams: state, latency, the live feed and a dead letter replayed from the page', async () => {
    const first = [1, 2, 3, 4, 5].map((i) => ({ ride: ride(i), ride_id: i }));
    const poison = { ride: { ...ride(3), PULocationID: 'nowhere' }, ride_id: 9 };
    expect(
      (await api(`/streams/${streamId}/events`, { method: 'POST', body: [...first, poison] })).status,
    ).toBe(202);
    await waitFor(
      async () => {
        const r = (await (await api(`/ui/api/streams/${streamId}`)).json()) as { deadLetters: unknown[] };
        const s = (await (await api(`/streams/${streamId}`)).json()) as { processed?: number };
        return s.processed === 5 && r.deadLetters.length === 1;
      },
      { timeoutMs: 30_000, what: 'five predictions and one dead letter', intervalMs: 100 },
    );

    await page.getByRole('link', { name: 'Streams', exact: true }).click();
    await page.getByRole('link', { name: streamId }).click();
    const feed = page.getByRole('list', { name: `Latest predictions of ${streamId}` });
    await expect.poll(() => feed.getByRole('listitem').count()).toBe(5);
    await page.getByText('Live feed: on').waitFor();
    const figure = (label: string) => page.locator('#stream-state dt', { hasText: label }).locator('+ dd');
    await expect(figure('Processed').textContent()).resolves.toBe('5');
    await expect(figure('Dead-lettered').textContent()).resolves.toBe('1');
    await expect(figure('Latency p50').textContent()).resolves.toMatch(/ ms$/);
    const dead = page.getByRole('table', { name: 'Dead letters of this stream' });
    await expect(dead.getByRole('row').filter({ hasText: '9' }).textContent()).resolves.toContain(
      'PULocationID',
    );
    await check('streams');

    // Live: events sent while the page is open appear without a reload.
    await api(`/streams/${streamId}/events`, { method: 'POST', body: [{ ride: ride(6), ride_id: 6 }] });
    await expect.poll(() => feed.getByRole('listitem').count()).toBe(6);
    await expect.poll(() => figure('Processed').textContent()).toBe('6');

    await page.getByRole('button', { name: 'Replay 9…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay dead letter 9' });
    const record = dialog.getByLabel('Record (JSON)');
    expect(JSON.parse(await record.inputValue())).toMatchObject({ PULocationID: 'nowhere' });
    await record.fill(JSON.stringify(ride(7)));
    await dialog.getByRole('button', { name: 'Replay' }).click();
    await page.getByText('Event 9 re-queued.').waitFor();
    await expect.poll(() => feed.getByRole('listitem').count()).toBe(7);
    await expect.poll(() => dead.getByRole('row').filter({ hasText: 'replayed' }).count()).toBe(1);
    const { rows } = await t.db.pool.query(
      `SELECT event_id FROM stream_predictions WHERE stream_id = $1 AND event_id = '9'`,
      [streamId],
    );
    expect(rows).toHaveLength(1);
  });

  it('online: scoring requests and their latency histogram, pushed by the API (the page never polls)', async () => {
    for (let i = 0; i < 12; i++)
      expect((await api('/predict', { method: 'POST', body: ride(1 + i) })).status).toBe(200);
    const asked: string[] = [];
    const ask = (r: { url(): string }) => asked.push(new URL(r.url()).pathname);
    page.on('request', ask);
    await page.getByRole('link', { name: 'Online', exact: true }).click();
    await page.getByText('Live updates: on (the API pushes its figures every 2 s)').waitFor();
    const figure = (label: string) => page.locator('#online-summary dt', { hasText: label }).locator('+ dd');
    await expect.poll(() => figure('Scoring requests').textContent()).toBe('12');
    await expect.poll(() => figure('Now').textContent(), { timeout: 10_000 }).toMatch(/^[\d.]+ req\/s$/); // the second snapshot, 2 s after the first
    // Requests made while the page is open show with the next push.
    for (let i = 0; i < 5; i++)
      expect((await api('/predict', { method: 'POST', body: ride(2 + i) })).status).toBe(200);
    await expect.poll(() => figure('Scoring requests').textContent(), { timeout: 10_000 }).toBe('17');
    page.off('request', ask);
    // The Streams page, still open when the listener starts, may send its last list refresh before it is left;
    // from the Online page's first request on (leaving aborts the Streams page's fetches), the only API request
    // is the one push feed.
    expect(asked).toContain('/ui/api/online/events');
    const fromOnline = asked.slice(asked.indexOf('/ui/api/online/events'));
    expect(fromOnline.filter((p) => p.startsWith('/ui/api/') || p === '/metrics')).toEqual([
      '/ui/api/online/events',
    ]);
    const routes = page.getByRole('table', { name: 'Requests per route since the API started' });
    await expect(
      routes.getByRole('row').filter({ hasText: '/predict' }).first().textContent(),
    ).resolves.toContain('POST/predict17');
    await expect(page.locator('#online-latency-plot').getAttribute('aria-label')).resolves.toMatch(/: \d+, /);
    await check('online');
  });

  it('rollouts: the routing state per deployment, no rollout yet; monitoring: the windows the runs computed', async () => {
    await page.getByRole('link', { name: 'Rollouts', exact: true }).click();
    await page.getByRole('heading', { name: 'Rollouts', level: 1 }).waitFor();
    await page.getByText('Live updates: on', { exact: false }).waitFor();
    const rides = page.getByRole('region', { name: 'ride-duration', exact: true });
    const figure = (label: string) => rides.locator('dt', { hasText: label }).first().locator('+ dd');
    await expect(figure('Champion').textContent()).resolves.toBe('2');
    await expect(figure('Challenger').textContent()).resolves.toBe('none');
    await rides.getByText('No rollout yet.').first().waitFor();
    await rides.getByText('No routing change yet: production answers.').waitFor();
    await page.getByRole('region', { name: 'penguin-species', exact: true }).getByText('Champion').waitFor();
    await check('rollouts-idle');
    await page.getByRole('link', { name: 'Monitoring', exact: true }).click();
    await page.getByText('Live updates: on (a new alert shows at once)').waitFor();
    const watched = page.getByRole('region', { name: 'ride-duration', exact: true });
    // Each day the page's 3-day run scored computed its drift window at its end; the live run (drift: false) did not.
    const heatmap = watched.getByRole('table', {
      name: /^Drift of ride-duration: PSI per feature and window/,
    });
    await expect(heatmap.locator('thead th').allTextContents()).resolves.toEqual([
      'Feature',
      '2030-07-01',
      '2030-07-02',
      '2030-07-03',
    ]);
    // The generated days are not January 2021 (the card's reference): the page lists exactly the alerts the API holds.
    const held = (await (await api('/deployments/ride-duration/drift')).json()) as { alerts: unknown[] };
    const alerts = watched.getByRole('table', { name: 'Alerts of ride-duration, newest first' });
    if (held.alerts.length === 0) await watched.getByText('No alert.').waitFor();
    else await expect(alerts.locator('tbody tr').count()).resolves.toBe(held.alerts.length);
    await check('monitoring-idle');
  });

  it('fits a phone: no sideways scrolling, the same content', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, text] of [
      ['/ui', '2 of 2 ready'],
      [`/ui/streams?stream=${streamId}`, 'Live feed: on'],
      ['/ui/batch', 'Live updates: on'],
    ] as const) {
      await page.goto(`${base}${path}`);
      await page.getByText(text, { exact: false }).first().waitFor();
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    await check('batch-phone');
    await page.goto(`${base}/ui`);
    await page.getByText('2 of 2 ready').waitFor();
    await check('overview-phone');
    expect(consoleErrors).toEqual([]);
    expect(b.outside).toEqual([]);
  });
});

/**
 * The dashboard at `/ui`: its pages and assets, served from the repository and npm packages (no CDN), and the
 * read-only data it needs that the public API does not list (`/ui/api/*`, API key required): batch runs from the
 * ledger with their live progress and Temporal Web UI links, streams, a stream's latency and dead letters, the
 * monitoring summary of the overview; and live Server-Sent Events: batch runs and their progress, routing changes
 * and rollout steps, monitoring alerts over Postgres NOTIFY (`batch_runs`, `batch_progress`, `deployment_routing`,
 * `rollouts`, `monitoring_alerts`), and the Online page's metrics snapshot pushed every 2 s while it is open.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { webUiUrl } from '../../control/batch-runs.js';
import { ALERTS_CHANNEL } from '../../contracts/monitoring.js';
import { BATCH_PROGRESS_CHANNEL, BATCH_RUNS_CHANNEL } from '../../contracts/batch.js';
import { ROLLOUTS_CHANNEL, ROUTING_CHANNEL } from '../../contracts/routing.js';
import { STREAM_ID_PATTERN } from '../../contracts/stream.js';
import { dashboardAssets } from '../../ui/server/assets.js';
import { channelFeed, sampledFeed, type ChannelFeed } from '../../ui/server/feeds.js';
import { monitoringSummary } from '../../ui/server/monitoring.js';
import { metricsSnapshot } from '../../ui/server/online.js';
import { listBatchRuns, listStreams, streamDetail } from '../../ui/server/queries.js';
import type { AppDeps } from '../deps.js';
import type { ApiMetrics } from '../metrics.js';
import { routeGroup } from '../env.js';
import { ValidationError } from '../errors.js';
import { requireApiKey } from '../middleware/auth.js';

/** The dashboard's sections; each is a page of the one shell (the client routes by path). */
export const UI_SECTIONS = ['deployments', 'batch', 'streams', 'online', 'rollouts', 'monitoring'] as const;

/** Same-origin only: nothing on the page can reach another host. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'";

/** How often the Online page's metrics snapshot is pushed while a page follows it. */
const METRICS_PUSH_MS = 2000;

export function uiRoutes(deps: AppDeps, metrics: ApiMetrics) {
  const assets = dashboardAssets();
  const batchEvents = channelFeed(deps, BATCH_RUNS_CHANNEL);
  const progressEvents = channelFeed(deps, BATCH_PROGRESS_CHANNEL);
  const routingEvents = channelFeed(deps, ROUTING_CHANNEL);
  const rolloutEvents = channelFeed(deps, ROLLOUTS_CHANNEL);
  const alertEvents = channelFeed(deps, ALERTS_CHANNEL);
  const metricsFeed = sampledFeed(
    async () => JSON.stringify(await metricsSnapshot(metrics)),
    METRICS_PUSH_MS,
    deps.logger,
  );
  const app = routeGroup();

  /**
   * Each payload of each feed as an SSE of its `event` name (after a `ready`), until the reader leaves or the API
   * shuts down.
   */
  const relay = (c: Context, ...feeds: [feed: ChannelFeed, event: string][]) =>
    streamSSE(c, async (sse) => {
      const done = new Promise<void>((resolve) => {
        const unsubscribe = feeds.map(([feed, event]) =>
          feed.subscribe((payload) => {
            void sse.writeSSE({ event, data: payload });
          }),
        );
        const watch = setInterval(() => deps.lifecycle.shuttingDown && finish(), 250);
        const finish = () => {
          clearInterval(watch);
          unsubscribe.forEach((u) => u());
          resolve();
        };
        sse.onAbort(finish);
      });
      await sse.writeSSE({ event: 'ready', data: '{}' });
      await done;
    });

  const shell = async (c: Context) => {
    const page = await assets('index.html');
    if (!page) return c.notFound();
    return c.body(page.body, 200, {
      'content-type': page.contentType,
      'content-security-policy': CSP,
      'cache-control': 'no-cache',
    });
  };
  app.get('/ui', shell);
  for (const section of UI_SECTIONS) app.get(`/ui/${section}`, shell);
  app.get('/ui/assets/:file', async (c) => {
    const asset = await assets(c.req.param('file'));
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' });
  });

  app.use('/ui/api/*', requireApiKey(deps.config.api.apiKey));
  app.get('/ui/api/batch-runs', async (c) => {
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 200) || 200, 1), 1000);
    const runs = await listBatchRuns(deps.pool, limit);
    const url = (workflowId: string, runId: string | null) =>
      webUiUrl(deps.config, workflowId, runId ?? undefined);
    return c.json({ runs: runs.map((r) => ({ ...r, webUiUrl: url(r.workflowId, r.temporalRunId) })) });
  });
  app.get('/ui/api/batch-runs/events', (c) =>
    relay(c, [batchEvents, 'batch_run'], [progressEvents, 'progress']),
  );
  app.get('/ui/api/routing/events', (c) => relay(c, [routingEvents, 'routing'], [rolloutEvents, 'rollout']));
  app.get('/ui/api/online/events', (c) => relay(c, [metricsFeed, 'metrics']));
  app.get('/ui/api/monitoring/summary', async (c) => c.json(await monitoringSummary(deps)));
  app.get('/ui/api/monitoring/alerts/events', (c) => relay(c, [alertEvents, 'alert']));
  app.get('/ui/api/streams', async (c) => c.json({ streams: await listStreams(deps.pool) }));
  app.get('/ui/api/streams/:streamId', async (c) => {
    const streamId = c.req.param('streamId');
    if (!STREAM_ID_PATTERN.test(streamId))
      throw new ValidationError([{ field: 'path.streamId', message: 'must be a stream id' }]);
    return c.json(await streamDetail(deps.pool, streamId));
  });
  return app;
}

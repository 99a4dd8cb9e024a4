/**
 * The dashboard at `/ui`: its pages and assets, served from the repository and npm packages (no CDN), and the
 * read-only data it needs that the public API does not list (`/ui/api/*`, API key required): batch runs from the
 * ledger with their Temporal Web UI links, streams, a stream's latency and dead letters, and batch run changes
 * routing changes and monitoring alerts live as Server-Sent Events over Postgres NOTIFY (`batch_runs`,
 * `deployment_routing`, `monitoring_alerts`).
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { webUiUrl } from '../../control/batch-runs.js';
import { ALERTS_CHANNEL } from '../../contracts/monitoring.js';
import { ROUTING_CHANNEL } from '../../contracts/routing.js';
import { STREAM_ID_PATTERN } from '../../contracts/stream.js';
import { dashboardAssets } from '../../ui/server/assets.js';
import { channelFeed, type ChannelFeed } from '../../ui/server/feeds.js';
import { listBatchRuns, listStreams, streamDetail } from '../../ui/server/queries.js';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { ValidationError } from '../errors.js';
import { requireApiKey } from '../middleware/auth.js';

/** The dashboard's sections; each is a page of the one shell (the client routes by path). */
export const UI_SECTIONS = ['deployments', 'batch', 'streams', 'online', 'rollouts', 'monitoring'] as const;

/** Same-origin only: nothing on the page can reach another host. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'";
const BATCH_CHANNEL = 'batch_runs';

export function uiRoutes(deps: AppDeps) {
  const assets = dashboardAssets();
  const batchEvents = channelFeed(deps, BATCH_CHANNEL);
  const routingEvents = channelFeed(deps, ROUTING_CHANNEL);
  const alertEvents = channelFeed(deps, ALERTS_CHANNEL);
  const app = routeGroup();

  /** Each NOTIFY of `feed` as an SSE `event` (after a `ready`), until the reader leaves or the API shuts down. */
  const relay = (c: Context, feed: ChannelFeed, event: string) =>
    streamSSE(c, async (sse) => {
      const done = new Promise<void>((resolve) => {
        const unsubscribe = feed.subscribe((payload) => {
          void sse.writeSSE({ event, data: payload });
        });
        const watch = setInterval(() => deps.lifecycle.shuttingDown && finish(), 250);
        const finish = () => {
          clearInterval(watch);
          unsubscribe();
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
  app.get('/ui/api/batch-runs/events', (c) => relay(c, batchEvents, 'batch_run'));
  app.get('/ui/api/routing/events', (c) => relay(c, routingEvents, 'routing'));
  app.get('/ui/api/monitoring/alerts/events', (c) => relay(c, alertEvents, 'alert'));
  app.get('/ui/api/streams', async (c) => c.json({ streams: await listStreams(deps.pool) }));
  app.get('/ui/api/streams/:streamId', async (c) => {
    const streamId = c.req.param('streamId');
    if (!STREAM_ID_PATTERN.test(streamId))
      throw new ValidationError([{ field: 'path.streamId', message: 'must be a stream id' }]);
    return c.json(await streamDetail(deps.pool, streamId));
  });
  return app;
}

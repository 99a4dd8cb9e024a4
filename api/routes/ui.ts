/**
 * The dashboard at `/ui`: its pages and assets, served from the repository and npm packages (no CDN), and the
 * read-only data it needs that the public API does not list (`/ui/api/*`, API key required): batch runs from the
 * ledger with their Temporal Web UI links, streams, a stream's latency and dead letters, and batch run changes
 * live as Server-Sent Events over Postgres NOTIFY.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { webUiUrl } from '../../control/batch-runs.js';
import { STREAM_ID_PATTERN } from '../../contracts/stream.js';
import { listenChannel, type ChannelListener } from '../../db/listen.js';
import { dashboardAssets } from '../../ui/server/assets.js';
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
  const batchEvents = batchRunFeed(deps);
  const app = routeGroup();

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
    streamSSE(c, async (sse) => {
      const done = new Promise<void>((resolve) => {
        const unsubscribe = batchEvents.subscribe((payload) => {
          void sse.writeSSE({ event: 'batch_run', data: payload });
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
    }),
  );
  app.get('/ui/api/streams', async (c) => c.json({ streams: await listStreams(deps.pool) }));
  app.get('/ui/api/streams/:streamId', async (c) => {
    const streamId = c.req.param('streamId');
    if (!STREAM_ID_PATTERN.test(streamId))
      throw new ValidationError([{ field: 'path.streamId', message: 'must be a stream id' }]);
    return c.json(await streamDetail(deps.pool, streamId));
  });
  return app;
}

/** One LISTEN connection on `batch_runs` shared by every open dashboard, opened for the first and closed after the last. */
function batchRunFeed(deps: AppDeps) {
  const subscribers = new Set<(payload: string) => void>();
  let listener: Promise<ChannelListener> | undefined;
  return {
    subscribe(onPayload: (payload: string) => void): () => void {
      subscribers.add(onPayload);
      listener ??= listenChannel({
        pool: deps.pool,
        channel: BATCH_CHANNEL,
        application: 'ui-batch-runs',
        logger: deps.logger,
        onNotify: (payload) => subscribers.forEach((s) => s(payload)),
      });
      return () => {
        subscribers.delete(onPayload);
        if (subscribers.size === 0 && listener) {
          const closing = listener;
          listener = undefined;
          void closing.then((l) => l.close());
        }
      };
    },
  };
}

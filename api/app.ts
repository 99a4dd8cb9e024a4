/**
 * The Hono application: one sub-app per route group, composed here; tests call `createApp(deps).request()`.
 * Cross-cutting concerns live here once: request id + metrics, body limit, request timeout, and the API-key
 * check applied by route prefix and method.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { timeout } from 'hono/timeout';
import type { AppDeps } from './deps.js';
import type { AppEnv } from './env.js';
import { errorHandler, PayloadTooLargeError, problem } from './errors.js';
import { createMetrics, registerPredictionLogGauge, type ApiMetrics } from './metrics.js';
import { registerMonitoringGauges } from './monitoring-metrics.js';
import { requireApiKey } from './middleware/auth.js';
import { limitBody } from './middleware/body-limit.js';
import { observe, requestIdentity } from './middleware/observe.js';
import { createOnline, shadowHold, type Online } from './online.js';
import { placementFor } from './placement.js';
import { createOnlineRouting, type ShadowScore } from './routing.js';
import { batchRunRoutes } from './routes/batch-runs.js';
import { mountMeta } from './routes/meta.js';
import { modelRoutes } from './routes/models.js';
import { opsRoutes } from './routes/ops.js';
import { ADAPTERS } from '../adapters/index.js';
import { deploymentRoutes } from './routes/deployments.js';
import { modelPredictRoutes } from './routes/predict.js';
import { batchShadowRoutes } from './routes/batch-shadow.js';
import { monitoringRoutes } from './routes/monitoring.js';
import { retrainingRoutes } from './routes/retraining.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { scheduleRoutes } from './routes/schedules.js';
import { streamRoutes } from './routes/streams.js';
import { uiRoutes } from './routes/ui.js';
import { v2Routes } from './routes/v2.js';

const isEventStream = (path: string) => /^\/streams\/[^/]+\/predictions$/.test(path);
const isModelPredict = (path: string) => /^\/models\/[^/]+\/predict$/.test(path);

export function createApp(deps: AppDeps, options: { metrics?: ApiMetrics; shadowScore?: ShadowScore } = {}) {
  const { config } = deps;
  const metrics = options.metrics ?? createMetrics();
  if (!options.metrics) {
    registerMonitoringGauges(metrics, deps.pool, deps.logger);
    if (deps.predictionLog) registerPredictionLogGauge(metrics, deps.predictionLog);
  }
  const { challengerThread: thread, routing } = deps;
  const base = createOnline(
    config,
    deps.scorer,
    metrics,
    routing
      ? {
          is: (m) => routing.forModel(m.name)?.challenger === m.version,
          thread,
          holdMs: config.api.canaryHoldMs,
          placement: placementFor(config, deps.logger),
        }
      : undefined,
  );
  const online: Online = {
    ...base,
    routing: createOnlineRouting(deps, {
      ...(deps.routing ? { table: deps.routing } : {}),
      shadowScore: options.shadowScore ?? shadowHold((model, records) => base.shadow(model, records), config),
      logAll: deps.logAllPredictions ?? true,
      // Nothing is scored together with batching off, so nothing is gained by drawing calls together.
      draw: config.batching.enabled ? config.api.routingDraw : 'call',
      turnCalls: config.batching.maxSize,
    }),
  };
  const app = new OpenAPIHono<AppEnv>();
  app.onError(errorHandler(deps.logger));
  app.notFound((c) => problem(c, 404, 'Not found', `No route for ${c.req.method} ${c.req.path}`));

  app.use('*', requestIdentity(), observe(metrics));
  app.use(
    '*',
    limitBody(config.api.bodyLimitBytes, () => {
      throw new PayloadTooLargeError(`the request body is larger than ${config.api.bodyLimitBytes} bytes`);
    }),
  );
  const limitTime: MiddlewareHandler<AppEnv> = timeout(
    config.api.requestTimeoutMs,
    () =>
      new HTTPException(503, { message: `the request took longer than ${config.api.requestTimeoutMs} ms` }),
  );
  const limitUnlessStream: MiddlewareHandler<AppEnv> = (c, next) =>
    isEventStream(c.req.path) ? next() : limitTime(c, next);
  app.use('*', limitUnlessStream);

  const adapters = deps.adapters ?? ADAPTERS;
  const auth = requireApiKey(config.api.apiKey);
  const onPost: MiddlewareHandler = (c, next) => (c.req.method === 'POST' ? auth(c, next) : next());
  // A model's predict route is a scoring route, not a control route: it takes the key only when predict does.
  const unlessPredict: MiddlewareHandler = (c, next) =>
    isModelPredict(c.req.path) && !config.api.requireKeyForPredict ? next() : auth(c, next);
  // Every control route, reads included (run status, stream state and feed, the model list), needs the key.
  for (const prefix of ['/batch-runs', '/schedules', '/streams', '/deployments']) {
    app.use(prefix, auth).use(`${prefix}/*`, auth);
  }
  app.use('/models', auth).use('/models/*', unlessPredict);
  if (config.api.requireKeyForPredict) {
    for (const path of adapters.flatMap((a) => a.scoringPaths ?? [])) app.use(path, auth);
    app.use('/v2/models/*', onPost);
  }

  // Scoring requests are counted from here until they reach the batcher, so an idle lane can wait for them.
  const arriving: MiddlewareHandler<AppEnv> = async (c, next) => {
    const arrived = online.arrivals.enter();
    c.set('arrived', arrived);
    try {
      await next();
    } finally {
      arrived();
    }
  };
  for (const path of adapters.flatMap((a) => a.arrivingPaths ?? [])) app.post(path, arriving);
  app.post('/v2/models/*', arriving).post('/models/:name/predict', arriving);

  app.route('/', opsRoutes(deps));
  for (const adapter of adapters) if (adapter.routes) app.route('/', adapter.routes(deps, online, metrics));
  app
    .route('/', modelPredictRoutes(deps, online, metrics))
    .route('/', v2Routes(deps, online, metrics))
    .route('/', deploymentRoutes(deps))
    .route('/', rolloutRoutes(deps))
    .route('/', batchShadowRoutes(deps))
    .route('/', monitoringRoutes(deps))
    .route('/', retrainingRoutes(deps))
    .route('/', modelRoutes(deps))
    .route('/', batchRunRoutes(deps))
    .route('/', scheduleRoutes(deps))
    .route('/', streamRoutes(deps, metrics))
    .route('/', uiRoutes(deps, metrics));
  mountMeta(app, metrics, config.api.publicUrl);
  return app;
}

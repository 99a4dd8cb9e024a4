/**
 * Monitoring over HTTP (API key required): late labels in (`POST /deployments/{name}/feedback`, idempotent by key),
 * and performance per mode, version and window out (`GET /deployments/{name}/metrics`), joined by record key in
 * Postgres.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { describeBatchTables, planBatchLayout } from '../../activities/batch-layout.js';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { computeDrift } from '../../activities/drift.js';
import { checkLabels } from '../../activities/labels.js';
import { ALERT_WORKFLOW, alertWorkflowId, MONITORED_MODES, WINDOWS } from '../../contracts/monitoring.js';
import { performance, upsertLabels } from '../../db/queries/labels.js';
import { modelOf, type Deployment } from '../../platform/deployments.js';
import type { LoadedModel } from '../../scoring/load-model.js';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.js';
import { DeploymentParams } from '../schemas/deployment.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const secured = { tags: ['monitoring'], security: [{ bearer: [] }] };
const NameParams = DeploymentParams;
const FeedbackBody = z.array(z.unknown()).min(1, 'must hold at least one {key, label}').openapi('Feedback', {
  description: 'A list of {key, label}: the record key a prediction carried and the true value',
});
const MetricsQuery = z.object({
  from: z.string().optional().openapi({ description: 'ISO time (default: 7 days ago)' }),
  to: z.string().optional().openapi({ description: 'ISO time, exclusive (default: now)' }),
  window: z.enum(WINDOWS).default('day'),
});
const MAX_LABELS = 10_000;
const DriftBody = z
  .strictObject({
    from: z.string().optional().openapi({ example: '2021-02-01T00:00:00' }),
    to: z.string().optional().openapi({ example: '2021-02-02T00:00:00' }),
    version: z.string().optional().openapi({ description: 'Default: the version serving production' }),
    mode: z.enum(MONITORED_MODES).default('batch').openapi({
      description: 'batch: the source and the sink; online, streaming: the predictions made in the window',
    }),
  })
  .openapi('DriftRequest');

const driftRoute = createRoute({
  method: 'post',
  path: '/deployments/{name}/drift',
  ...secured,
  summary:
    "Drift of a window of one mode against the card's reference (PSI, KS per field and for the prediction); one alert per drifted window",
  request: { params: NameParams, body: { ...json(DriftBody), required: true } },
  responses: {
    200: {
      description: 'The window (stored; computing it again replaces it)',
      ...json(z.record(z.string(), z.unknown())),
    },
    ...problems(400, 401, 404, 415, 503),
  },
});
const driftListRoute = createRoute({
  method: 'get',
  path: '/deployments/{name}/drift',
  ...secured,
  summary: 'Drift windows computed so far, and the alerts they raised',
  request: { params: NameParams },
  responses: {
    200: {
      description: 'Newest first',
      ...json(z.object({ windows: z.array(z.unknown()), alerts: z.array(z.unknown()) })),
    },
    ...problems(401, 404, 503),
  },
});

const feedbackRoute = createRoute({
  method: 'post',
  path: '/deployments/{name}/feedback',
  ...secured,
  summary: 'Late labels: the true value of predictions by record key (a key sent again takes the new label)',
  request: { params: NameParams, body: { ...json(FeedbackBody), required: true } },
  responses: {
    200: {
      description: 'How many labels were new, replaced one, or were the same',
      ...json(z.object({ inserted: z.number(), updated: z.number(), unchanged: z.number() })),
    },
    ...problems(400, 401, 404, 413, 415, 503),
  },
});
const metricsRoute = createRoute({
  method: 'get',
  path: '/deployments/{name}/metrics',
  ...secured,
  summary: 'Performance on labelled predictions per mode, version and window (MAE/RMSE or accuracy)',
  request: { params: NameParams, query: MetricsQuery },
  responses: {
    200: { description: 'One row per mode, version and window', ...json(z.record(z.string(), z.unknown())) },
    ...problems(400, 401, 404, 503),
  },
});

export function monitoringRoutes(deps: AppDeps) {
  const deploymentOf = (name: string): { d: Deployment; model: LoadedModel } => {
    const d = deps.deployments?.get(name);
    const model = d ? modelOf(deps.scorer, d.spec) : undefined;
    if (!d || !model || typeof model === 'string')
      throw new NotFoundError(
        `no ready deployment "${name}"${typeof model === 'string' ? `: ${model}` : ''}`,
      );
    return { d, model };
  };
  const time = (field: string, value: string | undefined, fallback: Date): string => {
    if (value === undefined) return fallback.toISOString();
    const t = new Date(value);
    if (Number.isNaN(t.getTime()))
      throw new ValidationError([
        { field: `query.${field}`, message: `must be an ISO time (got ${JSON.stringify(value)})` },
      ]);
    return t.toISOString();
  };

  return routeGroup()
    .openapi(driftRoute, async (c) => {
      const { d, model: champion } = deploymentOf(c.req.valid('param').name);
      const body = c.req.valid('json');
      const model =
        body.version === undefined ? champion : deps.scorer.registry.get(champion.name, body.version);
      if (!model)
        throw new ValidationError([
          { field: 'version', message: `version ${body.version} of ${champion.name} is not loaded` },
        ]);
      const window = await computeDrift(deps.pool, d, model, {
        mode: body.mode,
        ...(body.from !== undefined ? { from: body.from } : {}),
        ...(body.to !== undefined ? { to: body.to } : {}),
      });
      // The webhook is delivered by a workflow keyed by the alert: once per window, retried, recorded.
      if (window.alert === 'raised' && window.alertKey)
        await deps.temporal.workflow
          .start(ALERT_WORKFLOW, {
            taskQueue: deps.config.temporal.taskQueue,
            workflowId: alertWorkflowId(window.alertKey),
            args: [{ key: window.alertKey }],
          })
          .catch((err: unknown) => {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          });
      return c.json(window, 200);
    })
    .openapi(driftListRoute, async (c) => {
      const { d } = deploymentOf(c.req.valid('param').name);
      const [windows, alerts] = await Promise.all([
        deps.pool.query<{ result: unknown }>(
          'SELECT result FROM drift_windows WHERE deployment = $1 ORDER BY window_from DESC LIMIT 500',
          [d.spec.name],
        ),
        deps.pool.query(
          `SELECT kind, mode, version, window_from AS "from", window_to AS "to", details, raised_at AS "raisedAt",
                  dedup_key AS key, webhook_status AS webhook
             FROM monitoring_alerts WHERE deployment = $1 ORDER BY raised_at DESC LIMIT 500`,
          [d.spec.name],
        ),
      ]);
      return c.json({ windows: windows.rows.map((r) => r.result), alerts: alerts.rows }, 200);
    })
    .openapi(feedbackRoute, async (c) => {
      const { d, model } = deploymentOf(c.req.valid('param').name);
      const body = c.req.valid('json');
      if (body.length > MAX_LABELS)
        throw new PayloadTooLargeError(
          `the body holds ${body.length} labels; at most ${MAX_LABELS} per call`,
        );
      const { labels, errors } = checkLabels(model, body);
      // Nothing is half-written: one bad label refuses the call.
      if (errors.length > 0) throw new ValidationError(errors.slice(0, 20));
      return c.json(await upsertLabels(deps.pool, d.spec.name, labels, 'api'), 200);
    })
    .openapi(metricsRoute, async (c) => {
      const { d, model } = deploymentOf(c.req.valid('param').name);
      const q = c.req.valid('query');
      const now = new Date();
      const from = time('from', q.from, new Date(now.getTime() - 7 * 86_400_000));
      const to = time('to', q.to, now);
      if (model.task.kind === 'outputs')
        throw new ValidationError([
          { field: 'path.name', message: 'this deployment’s model has no regression or classification task' },
        ]);
      let sink;
      if (d.spec.batch) {
        const planned = planBatchLayout(d, model, await describeBatchTables(deps.pool, d));
        if (planned.ok && planned.layout.missing.length === 0) sink = planned.layout.sink;
      }
      const range = model.card.target?.range;
      const rows = await performance(deps.pool, {
        deployment: d.spec.name,
        task: model.task.kind,
        from,
        to,
        window: q.window,
        ...(range ? { range: { min: range[0], max: range[1] } } : {}),
        ...(sink ? { sink } : {}),
      });
      return c.json(
        {
          deployment: d.spec.name,
          task: model.task.kind,
          from,
          to,
          window: q.window,
          ...(range ? { target_range: range } : {}),
          rows,
        },
        200,
      );
    });
}

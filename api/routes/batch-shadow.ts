/**
 * Batch shadow runs over HTTP (API key required): score a partition with the challenger (its own exactly-once
 * rows), compared with the champion's predictions of the same rows; and the comparisons made so far.
 */
import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { checkBatchInput } from '../../contracts/batch-input.js';
import { batchShadowWorkflowId, type BatchShadowInput } from '../../contracts/routing.js';
import { webUiUrl } from '../../control/batch-runs.js';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { DeploymentParams } from '../schemas/deployment.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const secured = { tags: ['rollouts'], security: [{ bearer: [] }] };
const NameParams = DeploymentParams;
const ShadowBody = z
  .strictObject({
    from: z.string().optional().openapi({ example: '2021-02-01T00:00:00' }),
    to: z.string().optional().openapi({ example: '2021-02-02T00:00:00' }),
    version: z.string().optional().openapi({ description: 'Default: the routing challenger', example: '1' }),
  })
  .openapi('BatchShadowRequest');

const startRoute = createRoute({
  method: 'post',
  path: '/deployments/{name}/batch-shadow',
  ...secured,
  summary: 'Score a partition with the challenger beside the champion, then compare them (a workflow)',
  request: { params: NameParams, body: { ...json(ShadowBody), required: true } },
  responses: {
    202: {
      description: 'The shadow run (the same request while it runs joins it; after it ended, compares again)',
      ...json(z.object({ workflowId: z.string(), runId: z.string(), webUiUrl: z.string() })),
    },
    ...problems(400, 401, 404, 415, 503),
  },
});
const listRoute = createRoute({
  method: 'get',
  path: '/deployments/{name}/batch-comparisons',
  ...secured,
  summary: 'Comparisons of batch shadow runs: per-version metrics on labelled rows, the differences',
  request: { params: NameParams },
  responses: {
    200: { description: 'Newest first', ...json(z.object({ comparisons: z.array(z.unknown()) })) },
    ...problems(401, 404, 503),
  },
});

export function batchShadowRoutes(deps: AppDeps) {
  const deploymentOf = (name: string) => {
    const d = deps.deployments?.get(name);
    if (!d?.spec.batch) throw new NotFoundError(`no ready deployment "${name}" with a batch block`);
    return d;
  };
  return routeGroup()
    .openapi(startRoute, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      const body = c.req.valid('json');
      const model = d.spec.model.split('@')[0] ?? d.spec.model;
      const state = deps.routing?.get(d.spec.name);
      const champion = state?.champion ?? deps.scorer.resolveNow(model).version;
      const version = body.version ?? state?.challenger ?? undefined;
      if (version === undefined)
        throw new ValidationError([
          { field: 'version', message: 'name a version: the routing has no challenger' },
        ]);
      if (!deps.scorer.registry.get(model, version))
        throw new ValidationError([
          {
            field: 'version',
            message: `version ${version} of ${model} is not loaded (loaded: ${deps.scorer.registry.versions(model).join(', ')})`,
          },
        ]);
      if (version === champion)
        throw new ValidationError([{ field: 'version', message: `version ${version} is the champion` }]);
      const checked = checkBatchInput({
        ...(body.from !== undefined ? { from: body.from } : {}),
        ...(body.to !== undefined ? { to: body.to } : {}),
      });
      if (!checked.ok) throw new ValidationError([{ field: checked.field, message: checked.reason }]);
      if (d.spec.batch?.source.event_time && !checked.value)
        throw new ValidationError([
          { field: 'from', message: 'is required: the source has an event time (give from and to)' },
        ]);
      // The partition as the run reads it (naive timestamps), hashed: two spellings of one window are one run.
      const bounds = checked.value ? `${checked.value.from}_${checked.value.to}` : 'all';
      const partition = createHash('sha256').update(bounds).digest('hex').slice(0, 16);
      const workflowId = batchShadowWorkflowId(d.spec.name, version, partition);
      const input: BatchShadowInput = {
        deployment: d.spec.name,
        model,
        champion,
        challenger: version,
        ...(checked.value ? { from: checked.value.from, to: checked.value.to } : {}),
        chunkSize: deps.config.batch.chunkSize,
        maxParallelChunks: deps.config.batch.maxParallelChunks,
      };
      const handle = await deps.temporal.workflow.start('batchShadow', {
        taskQueue: deps.config.temporal.taskQueue,
        workflowId,
        args: [input],
        // A run in flight for this partition and version is joined; a finished one is done again (exactly-once rows).
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      const runId = handle.firstExecutionRunId;
      return c.json({ workflowId, runId, webUiUrl: webUiUrl(deps.config, workflowId, runId) }, 202);
    })
    .openapi(listRoute, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      const { rows } = await deps.pool.query<{ summary: unknown }>(
        'SELECT summary FROM batch_comparisons WHERE deployment = $1 ORDER BY compared_at DESC LIMIT 100',
        [d.spec.name],
      );
      return c.json({ comparisons: rows.map((r) => r.summary) }, 200);
    });
}

/**
 * Batch runs over HTTP (API key required): start one of a deployment (idempotent by Idempotency-Key), read it,
 * cancel it.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { cancelBatchRun, getBatchRun, startBatchRun } from '../../control/batch-runs.js';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const StartBody = z
  .object({
    deployment: z
      .string()
      .optional()
      .openapi({ description: 'Default: the deployment marked "default": true', example: 'my-deployment' }),
    // Required for a source with event time; a deployment without event time scores its whole table.
    from: z.string().min(1, 'is required').optional().openapi({ example: '2021-02-01T00:00:00' }),
    to: z.string().min(1, 'is required').optional().openapi({ example: '2021-02-02T00:00:00' }),
    model: z.string().optional().openapi({ example: 'my-model@production' }),
    chunkSize: z.number().int().positive().optional(),
    notify: z.boolean().optional(),
  })
  .openapi('BatchRunRequest');

const Started = z
  .object({ workflowId: z.string(), runId: z.string(), webUiUrl: z.string(), created: z.boolean() })
  .openapi('BatchRunStarted');

const IdParams = z.object({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'batch-2021-02-01' }),
});

const startRoute = createRoute({
  method: 'post',
  path: '/batch-runs',
  tags: ['batch'],
  summary:
    'Start a batch scoring run of a deployment over [from, to) (or its whole table without event time); repeat with the same Idempotency-Key to get the same run',
  security: [{ bearer: [] }],
  request: {
    headers: z.object({
      'idempotency-key': z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 . _ : -')
        .optional(),
    }),
    body: { ...json(StartBody), required: true },
  },
  responses: {
    202: { description: 'Started', ...json(Started) },
    200: { description: 'Already started with this Idempotency-Key: the existing run', ...json(Started) },
    ...problems(400, 401, 415, 503),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/batch-runs/{id}',
  tags: ['batch'],
  summary: 'Status of a run: live progress while running, the summary when completed',
  security: [{ bearer: [] }],
  request: { params: IdParams },
  responses: {
    200: {
      description: 'The run',
      ...json(z.looseObject({ workflowId: z.string(), status: z.string() }).openapi('BatchRun')),
    },
    ...problems(401, 404, 503),
  },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/batch-runs/{id}/cancel',
  tags: ['batch'],
  summary: 'Request cancellation (the run records `cancelled` and notifies)',
  security: [{ bearer: [] }],
  request: { params: IdParams },
  responses: {
    202: {
      description: 'Cancellation requested',
      ...json(z.object({ workflowId: z.string(), cancelRequested: z.boolean() })),
    },
    ...problems(401, 404, 503),
  },
});

export function batchRunRoutes(deps: AppDeps) {
  return routeGroup()
    .openapi(startRoute, async (c) => {
      const key = c.req.valid('header')['idempotency-key'];
      // A repeat of a keyed request answers the existing run (200) instead of reporting it as new.
      const defaultDeployment = deps.deployments?.defaultDeployment()?.spec.name;
      const started = await startBatchRun(deps.temporal, deps.config, c.req.valid('json'), {
        ...(key ? { idempotencyKey: key } : {}),
        ...(defaultDeployment ? { defaultDeployment } : {}),
      });
      return c.json(started, started.created ? 202 : 200);
    })
    .openapi(getRoute, async (c) =>
      c.json(await getBatchRun(deps.temporal, deps.config, c.req.valid('param').id), 200),
    )
    .openapi(cancelRoute, async (c) => {
      const { id } = c.req.valid('param');
      await cancelBatchRun(deps.temporal, id);
      return c.json({ workflowId: id, cancelRequested: true }, 202);
    });
}

/**
 * Retraining over HTTP (API key required): start a deployment's retraining (the body may carry a reason, the
 * labelled window to compare on and the training window the command gets, never what runs: the command is the
 * deployment file's), and read its runs.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { RetrainingInput } from '../../contracts/retraining.js';
import { startRetraining } from '../../control/retraining.js';
import { getRun, listRuns } from '../../db/queries/retraining.js';
import type { Deployment } from '../../platform/deployments.js';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { DeploymentParams } from '../schemas/deployment.js';
import { problems } from '../schemas/predict.js';
import { actorOf } from './rollouts.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const secured = { tags: ['retraining'], security: [{ bearer: [] }] };

const isoTime = z
  .string()
  .refine((v) => !Number.isNaN(new Date(v).getTime()), 'must be an ISO time, e.g. 2026-12-01T00:00:00Z');
const fields = {
  reason: z.string().max(500).optional().openapi({ example: 'labels of the new season are in' }),
  from: isoTime
    .optional()
    .openapi({ description: 'Labelled window start (label arrival time)', example: '2026-11-24T00:00:00Z' }),
  to: isoTime
    .optional()
    .openapi({ description: 'Labelled window end, exclusive', example: '2026-12-01T00:00:00Z' }),
  train_from: isoTime.optional().openapi({
    description: "The training command's {from} (default: the end of the last registered run)",
    example: '2022-01-01T00:00:00Z',
  }),
  train_to: isoTime
    .optional()
    .openapi({ description: "The training command's {to} (default: now)", example: '2022-03-01T00:00:00Z' }),
};
/** What the handler accepts: these fields only (an unknown one is refused by name). */
const RetrainBody = z.strictObject(fields);
/** The documented body; the handler checks it with RetrainBody so that a `command` is refused naming it. */
const RetrainDoc = z.object(fields).openapi('RetrainingRequest', {
  description: 'What may vary per run; the command, metric and margin come only from the deployment file',
});
const Run = z.record(z.string(), z.unknown()).openapi('RetrainingRun', {
  description: 'contracts/retraining.ts RetrainingRun: status, version, outcome, figures, rollout',
});
const RunParams = DeploymentParams.extend({
  runId: z
    .string()
    .min(1)
    .openapi({ param: { name: 'runId', in: 'path' } }),
});

const routes = {
  start: createRoute({
    method: 'post',
    path: '/deployments/{name}/retraining',
    ...secured,
    summary:
      "Start a retraining with the deployment file's command; a better version is registered and rolled out",
    request: { params: DeploymentParams, body: { ...json(RetrainDoc), required: false } },
    responses: {
      202: {
        description: 'Started: follow it at `run`',
        ...json(z.object({ runId: z.string(), workflowId: z.string(), run: z.string() })),
      },
      ...problems(400, 401, 404, 409, 415, 503),
    },
  }),
  list: createRoute({
    method: 'get',
    path: '/deployments/{name}/retraining',
    ...secured,
    summary: 'Retraining runs of a deployment, newest first, each with its status, reason and figures',
    request: { params: DeploymentParams },
    responses: {
      200: { description: 'Runs', ...json(z.object({ runs: z.array(Run) })) },
      ...problems(401, 404, 503),
    },
  }),
  get: createRoute({
    method: 'get',
    path: '/deployments/{name}/retraining/{runId}',
    ...secured,
    summary: 'One retraining run',
    request: { params: RunParams },
    responses: { 200: { description: 'The run', ...json(Run) }, ...problems(401, 404, 503) },
  }),
};

export function retrainingRoutes(deps: AppDeps) {
  const deploymentOf = (name: string): Deployment => {
    const found = deps.deployments?.get(name);
    if (found) return found;
    const ready = deps.deployments?.ready().map((d) => d.spec.name) ?? [];
    throw new NotFoundError(`no ready deployment "${name}" (ready: ${ready.join(', ') || 'none'})`);
  };

  return routeGroup()
    .openapi(routes.start, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      if (!d.spec.retraining)
        throw new ConflictError(
          `deployment ${d.spec.name} declares no retraining block (see docs/monitoring.md)`,
        );
      const raw = (await c.req.text()).trim();
      let parsedBody: unknown = {};
      if (raw !== '') {
        try {
          parsedBody = JSON.parse(raw);
        } catch {
          throw new ValidationError([{ field: '(body)', message: 'must be a JSON object' }]);
        }
      }
      const parsed = RetrainBody.safeParse(parsedBody);
      if (!parsed.success)
        throw new ValidationError(
          parsed.error.issues.flatMap((i) =>
            i.code === 'unrecognized_keys'
              ? i.keys.map((key) => ({
                  field: key,
                  message:
                    'is not accepted: the body may carry reason, from, to, train_from and train_to; what runs comes from the deployment file',
                }))
              : [{ field: i.path.length > 0 ? i.path.join('.') : '(body)', message: i.message }],
          ),
        );
      const body = parsed.data;
      if ((body.from === undefined) !== (body.to === undefined))
        throw new ValidationError([
          { field: body.from === undefined ? 'from' : 'to', message: 'from and to come together' },
        ]);
      if (body.from !== undefined && body.to !== undefined && !(new Date(body.from) < new Date(body.to)))
        throw new ValidationError([{ field: 'to', message: 'must be after from' }]);
      if ((body.train_from === undefined) !== (body.train_to === undefined))
        throw new ValidationError([
          {
            field: body.train_from === undefined ? 'train_from' : 'train_to',
            message: 'train_from and train_to come together',
          },
        ]);
      if (
        body.train_from !== undefined &&
        body.train_to !== undefined &&
        !(new Date(body.train_from) < new Date(body.train_to))
      )
        throw new ValidationError([{ field: 'train_to', message: 'must be after train_from' }]);
      const input: RetrainingInput = {
        deployment: d.spec.name,
        trigger: 'api',
        reason: `${body.reason ?? 'started through the API'} (${actorOf(c)})`,
        ...(body.from !== undefined ? { from: body.from } : {}),
        ...(body.to !== undefined ? { to: body.to } : {}),
        ...(body.train_from !== undefined ? { trainFrom: body.train_from } : {}),
        ...(body.train_to !== undefined ? { trainTo: body.train_to } : {}),
      };
      const started = await startRetraining(deps.temporal, deps.config.temporal.taskQueue, input);
      return c.json({ ...started, run: `/deployments/${d.spec.name}/retraining/${started.runId}` }, 202);
    })
    .openapi(routes.list, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      return c.json({ runs: (await listRuns(deps.pool, d.spec.name)) as never[] }, 200);
    })
    .openapi(routes.get, async (c) => {
      const { name, runId } = c.req.valid('param');
      const d = deploymentOf(name);
      const run = await getRun(deps.pool, d.spec.name, runId);
      if (!run) throw new NotFoundError(`deployment ${d.spec.name} has no retraining run "${runId}"`);
      return c.json(run as never, 200);
    });
}

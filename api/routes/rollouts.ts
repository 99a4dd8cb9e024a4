/**
 * Routing and rollouts over HTTP (API key required): a deployment's routing state (from the mirror) and changes to
 * it (through its controller workflow), the routing history ("which versions served at time t"), and progressive
 * rollouts: start, list, progress, approve, reject, pause, resume, abort.
 */
import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  checkRolloutSpec,
  initialRouting,
  ROLLOUT_ACTIONS,
  type RolloutSpec,
  type RoutingPatch,
  type RoutingState,
} from '../../contracts/routing.js';
import {
  actOnRollout,
  changeRouting,
  controllerState,
  ensureController,
  rolloutProgress,
  startRollout,
} from '../../control/routing.js';
import { controllerInput } from '../../control/controllers.js';
import { getRollout, listRollouts, routingAt, routingHistory } from '../../db/queries/routing.js';
import type { Deployment } from '../../platform/deployments.js';
import type { AppDeps } from '../deps.js';
import { routeGroup, type AppEnv } from '../env.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { DeploymentParams } from '../schemas/deployment.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const secured = { tags: ['rollouts'], security: [{ bearer: [] }] };

const NameParams = DeploymentParams;
const RolloutParams = NameParams.extend({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'v3' }),
});
const ActionParams = RolloutParams.extend({
  action: z.enum(ROLLOUT_ACTIONS).openapi({ param: { name: 'action', in: 'path' }, example: 'approve' }),
});

const Sticky = z.union([
  z.strictObject({ field: z.string().min(1) }),
  z.strictObject({ header: z.string().min(1) }),
]);
const RoutingSchema = z
  .object({
    deployment: z.string(),
    model: z.string(),
    champion: z.string(),
    challenger: z.string().nullable(),
    canary: z.number(),
    shadow: z.number(),
    sticky: Sticky.nullable(),
    rollout: z.string().nullable(),
    revision: z.number().int(),
    changedAt: z.string(),
    changedBy: z.string(),
    reason: z.string(),
  })
  .openapi('Routing');
const RoutingBody = z
  .strictObject({
    champion: z.string().optional().openapi({ description: 'Promote this version (production follows)' }),
    challenger: z.string().nullable().optional().openapi({ example: '1' }),
    canary: z.number().optional().openapi({ description: 'Percent answered by the challenger', example: 10 }),
    shadow: z
      .number()
      .optional()
      .openapi({ description: 'Percent also scored by the challenger', example: 10 }),
    sticky: Sticky.nullable().optional(),
    reason: z.string().max(500).optional(),
  })
  .openapi('RoutingChange');
const Gates = z.strictObject({
  max_error_rate: z.number().optional().openapi({ example: 0.01 }),
  max_p99_ms: z.number().optional().openapi({ example: 50 }),
  max_mean_diff: z.number().optional().openapi({ example: 3 }),
  max_label_error: z.number().optional().openapi({ example: 6 }),
  min_samples: z.number().int().optional().openapi({ example: 20 }),
});
const RolloutBody = z
  .strictObject({
    id: z
      .string()
      .optional()
      .openapi({ description: 'Default: the version and the time', example: 'v1-canary' }),
    version: z.string().min(1).openapi({ example: '1' }),
    steps: z.array(z.number()).default([5, 25, 50, 100]),
    step_seconds: z.number().default(300),
    shadow: z.number().default(10).openapi({ description: 'Percent of champion traffic compared (shadow)' }),
    gates: Gates.default({}),
    approval: z.enum(['auto', 'manual']).default('manual'),
    reason: z.string().max(500).optional(),
  })
  .openapi('RolloutRequest');
const ActionBody = z.strictObject({ reason: z.string().max(500).optional() });
const Progress = z.record(z.string(), z.unknown()).openapi('RolloutProgress', {
  description:
    'contracts/routing.ts RolloutProgress: spec, status, step, steps with figures and failed gates',
});
const HistoryQuery = z.object({
  at: z
    .string()
    .optional()
    .openapi({ description: 'ISO time: the routing in force then', example: '2026-12-01T12:00:00Z' }),
});
const HistoryEntry = z.object({
  revision: z.number(),
  changedAt: z.string(),
  actor: z.string(),
  reason: z.string(),
  change: z.unknown(),
  state: RoutingSchema,
});

const routes = {
  getRouting: createRoute({
    method: 'get',
    path: '/deployments/{name}/routing',
    ...secured,
    summary: 'The routing now: champion, challenger, canary and shadow shares, sticky key, running rollout',
    request: { params: NameParams },
    responses: { 200: { description: 'The routing', ...json(RoutingSchema) }, ...problems(401, 404, 503) },
  }),
  setRouting: createRoute({
    method: 'post',
    path: '/deployments/{name}/routing',
    ...secured,
    summary: 'Change the routing through the controller workflow (a Temporal Update); answers the new state',
    request: { params: NameParams, body: { ...json(RoutingBody), required: true } },
    responses: {
      200: { description: 'The routing after the change', ...json(RoutingSchema) },
      ...problems(400, 401, 404, 409, 415, 503),
    },
  }),
  history: createRoute({
    method: 'get',
    path: '/deployments/{name}/history',
    ...secured,
    summary: 'Every routing change (who, why, when, the state after it), or with ?at= the one in force then',
    request: { params: NameParams, query: HistoryQuery },
    responses: {
      200: {
        description: 'The history',
        ...json(
          z.object({ deployment: z.string(), at: z.string().optional(), changes: z.array(HistoryEntry) }),
        ),
      },
      ...problems(400, 401, 404, 503),
    },
  }),
  start: createRoute({
    method: 'post',
    path: '/deployments/{name}/rollouts',
    ...secured,
    summary: 'Start a progressive rollout of a version: canary steps, durable timers, gates, approval',
    request: { params: NameParams, body: { ...json(RolloutBody), required: true } },
    responses: {
      201: {
        description: 'The rollout started',
        ...json(z.object({ id: z.string(), workflowId: z.string(), progress: z.string() })),
      },
      ...problems(400, 401, 404, 409, 415, 503),
    },
  }),
  list: createRoute({
    method: 'get',
    path: '/deployments/{name}/rollouts',
    ...secured,
    summary: 'Rollouts of a deployment, newest first',
    request: { params: NameParams },
    responses: {
      200: { description: 'Rollouts', ...json(z.object({ rollouts: z.array(Progress) })) },
      ...problems(401, 404, 503),
    },
  }),
  get: createRoute({
    method: 'get',
    path: '/deployments/{name}/rollouts/{id}',
    ...secured,
    summary: "A rollout's progress: status, step, each step's figures and failed gates",
    request: { params: RolloutParams },
    responses: { 200: { description: 'Progress', ...json(Progress) }, ...problems(401, 404, 503) },
  }),
  act: createRoute({
    method: 'post',
    path: '/deployments/{name}/rollouts/{id}/{action}',
    ...secured,
    summary: 'approve | reject | pause | resume | abort a rollout (a Temporal Update); answers the progress',
    request: { params: ActionParams, body: { ...json(ActionBody), required: false } },
    responses: { 200: { description: 'Progress', ...json(Progress) }, ...problems(400, 401, 404, 409, 503) },
  }),
};

/** Who makes a change: the API key's fingerprint (never the key), and the caller's X-Actor if given. */
export function actorOf(c: Context<AppEnv>): string {
  const key = /^Bearer\s+(\S+)/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
  const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 8);
  const who = c.req
    .header('x-actor')
    ?.replace(/[^\w.@: -]/g, '')
    .slice(0, 64);
  return `api-key:${fingerprint}${who ? ` (${who})` : ''}`;
}

const modelName = (d: Deployment) => d.spec.model.split('@')[0] ?? d.spec.model;

export function rolloutRoutes(deps: AppDeps) {
  const { temporal, config, scorer } = deps;
  const taskQueue = config.temporal.taskQueue;

  const deploymentOf = (name: string): Deployment => {
    const found = deps.deployments?.get(name);
    if (found) return found;
    const ready = deps.deployments?.ready().map((d) => d.spec.name) ?? [];
    throw new NotFoundError(`no ready deployment "${name}" (ready: ${ready.join(', ') || 'none'})`);
  };
  /** The mirror's state, or the routing a deployment has before its controller ever ran. */
  const stateOf = (d: Deployment): RoutingState => {
    const mirrored = deps.routing?.get(d.spec.name);
    if (mirrored) return mirrored;
    const model = modelName(d);
    return initialRouting(
      { deployment: d.spec.name, model, champion: scorer.resolveNow(model).version },
      {
        changedAt: new Date(0).toISOString(),
        changedBy: 'none',
        reason: 'no routing change yet: production answers',
      },
    );
  };
  const controller = async (d: Deployment) => {
    await ensureController(
      temporal,
      taskQueue,
      await controllerInput(temporal, taskQueue, deps.pool, scorer, d),
    );
  };
  /** Versions the API can see, checked before anything is sent (the controller checks them again). */
  const checkVersions = (d: Deployment, fields: Record<string, string | null | undefined>) => {
    const model = modelName(d);
    const errors = Object.entries(fields)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .filter(([, v]) => !scorer.registry.get(model, v))
      .map(([field, v]) => {
        const refused = scorer.failures().find((f) => f.name === model && f.version === v);
        return {
          field,
          message: refused
            ? `version ${v} of ${model} was refused at load: ${refused.reason}`
            : `version ${v} of ${model} is not loaded (loaded: ${scorer.registry.versions(model).join(', ')})`,
        };
      });
    if (errors.length > 0) throw new ValidationError(errors);
  };

  return routeGroup()
    .openapi(routes.getRouting, (c) => c.json(stateOf(deploymentOf(c.req.valid('param').name)), 200))
    .openapi(routes.setRouting, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      const body = c.req.valid('json');
      checkVersions(d, { champion: body.champion, challenger: body.challenger });
      const patch: RoutingPatch = { ...body, actor: actorOf(c) };
      await controller(d);
      const state = await changeRouting(temporal, taskQueue, d.spec.name, patch);
      await deps.routing?.refresh();
      return c.json(state, 200);
    })
    .openapi(routes.history, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      const { at } = c.req.valid('query');
      if (at === undefined)
        return c.json(
          { deployment: d.spec.name, changes: await routingHistory(deps.pool, d.spec.name) },
          200,
        );
      const time = new Date(at);
      if (Number.isNaN(time.getTime()))
        throw new ValidationError([
          { field: 'query.at', message: `must be an ISO time (got ${JSON.stringify(at)})` },
        ]);
      const row = await routingAt(deps.pool, d.spec.name, time);
      return c.json({ deployment: d.spec.name, at: time.toISOString(), changes: row ? [row] : [] }, 200);
    })
    .openapi(routes.start, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      const body = c.req.valid('json');
      const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
      const spec: RolloutSpec = {
        id: body.id ?? `v${body.version.replace(/[^a-z0-9-]/gi, '-').toLowerCase()}-${stamp}`,
        deployment: d.spec.name,
        model: modelName(d),
        version: body.version,
        steps: body.steps,
        stepSeconds: body.step_seconds,
        shadow: body.shadow,
        gates: body.gates,
        approval: body.approval,
        actor: actorOf(c),
        reason: body.reason ?? `rollout of version ${body.version}`,
      };
      const problemsFound = checkRolloutSpec(spec);
      if (problemsFound.length > 0) throw new ValidationError(problemsFound);
      checkVersions(d, { version: spec.version });
      await controller(d);
      const live = await controllerState(temporal, taskQueue, d.spec.name);
      if (live.champion === spec.version)
        throw new ValidationError([
          { field: 'version', message: `version ${spec.version} is the champion already` },
        ]);
      if (live.rollout !== null)
        throw new ConflictError(
          `rollout ${live.rollout} is running on ${d.spec.name}: abort it or let it finish first`,
        );
      const workflowId = await startRollout(temporal, taskQueue, spec);
      return c.json(
        { id: spec.id, workflowId, progress: `/deployments/${d.spec.name}/rollouts/${spec.id}` },
        201,
      );
    })
    .openapi(routes.list, async (c) => {
      const d = deploymentOf(c.req.valid('param').name);
      return c.json({ rollouts: (await listRollouts(deps.pool, d.spec.name)) as never[] }, 200);
    })
    .openapi(routes.get, async (c) => {
      const { name, id } = c.req.valid('param');
      const d = deploymentOf(name);
      const progress = await rolloutProgress(temporal, taskQueue, d.spec.name, id).catch(
        async (err: unknown) => {
          const stored = await getRollout(deps.pool, d.spec.name, id);
          if (stored) return stored;
          throw err;
        },
      );
      return c.json(progress as never, 200);
    })
    .openapi(routes.act, async (c) => {
      const { name, id, action } = c.req.valid('param');
      const d = deploymentOf(name);
      const raw: unknown = await c.req.json().catch(() => ({}));
      const body = raw !== null && typeof raw === 'object' ? (raw as { reason?: unknown }) : {};
      const reason = typeof body.reason === 'string' ? body.reason.slice(0, 500) : undefined;
      const progress = await actOnRollout(temporal, taskQueue, d.spec.name, id, action, {
        actor: actorOf(c),
        ...(reason ? { reason } : {}),
      });
      return c.json(progress as never, 200);
    });
}

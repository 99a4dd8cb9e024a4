/** The model repository over HTTP: list loaded versions and aliases; move an alias (zero-downtime switch). */
import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_ALIAS } from '../../contracts/scoring.js';
import { controllerInput } from '../../control/controllers.js';
import { changeRouting, ensureController } from '../../control/routing.js';
import type { AppDeps } from '../deps.js';
import { actorOf } from './rollouts.js';
import { AliasError } from '../../scoring/errors.js';
import { routeGroup } from '../env.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const ModelSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    ref: z.string(),
    aliases: z.array(z.string()),
    task: z.string().openapi({ example: 'regression' }),
    fields: z.array(z.string()).openapi({ description: "the signature's fields: what a record carries" }),
    inputs: z.array(z.string()).openapi({ description: 'graph inputs' }),
    outputs: z.array(z.string()).openapi({ description: 'served outputs' }),
    kind: z.string().optional(),
    description: z.string().optional(),
    metrics: z.unknown().optional(),
  })
  .openapi('Model');

const ModelListSchema = z
  .object({
    models: z.array(ModelSchema),
    aliases: z.array(z.object({ name: z.string(), alias: z.string(), version: z.string() })),
    failures: z.array(z.object({ ref: z.string(), reason: z.string() })),
  })
  .openapi('ModelList');

const AliasParams = z.object({
  name: z
    .string()
    .min(1)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'my-model' }),
  alias: z
    .string()
    .min(1)
    .openapi({ param: { name: 'alias', in: 'path' }, example: 'production' }),
});
const AliasBody = z.object({
  version: z.string().min(1, 'must name a loaded version').openapi({ example: '1' }),
});

const listRoute = createRoute({
  method: 'get',
  path: '/models',
  tags: ['models'],
  summary: 'Loaded model versions, their aliases, and versions refused at load',
  responses: { 200: { description: 'The repository', ...json(ModelListSchema) } },
});

const aliasRoute = createRoute({
  method: 'post',
  path: '/models/{name}/aliases/{alias}',
  tags: ['models'],
  summary: 'Point an alias at a loaded version, for every process (requires API key)',
  security: [{ bearer: [] }],
  request: { params: AliasParams, body: { ...json(AliasBody), required: true } },
  responses: {
    200: {
      description: 'The alias now resolves to the version',
      ...json(
        z.object({
          name: z.string(),
          alias: z.string(),
          version: z.string(),
          previous: z.string().nullable(),
        }),
      ),
    },
    ...problems(400, 401, 404, 415, 503),
  },
});

export function modelRoutes(deps: AppDeps) {
  const { scorer } = deps;
  return routeGroup()
    .openapi(listRoute, (c) =>
      c.json(
        {
          models: scorer.listModels().map((m) => ({
            name: m.name,
            version: m.version,
            ref: m.ref,
            aliases: m.aliases,
            task: m.task.kind,
            fields: m.fields,
            inputs: m.inputs,
            outputs: m.outputs,
            kind: typeof m.card.kind === 'string' ? m.card.kind : undefined,
            description: m.card.description,
            metrics: m.card.metrics,
          })),
          aliases: scorer.listAliases().map((a) => ({ name: a.name, alias: a.alias, version: a.version })),
          failures: scorer.failures().map((f) => ({ ref: f.ref, reason: f.reason })),
        },
        200,
      ),
    )
    .openapi(aliasRoute, async (c) => {
      const { name, alias } = c.req.valid('param');
      const { version } = c.req.valid('json');
      const previous = scorer.aliasStore.get(name, alias) ?? null;
      if (!scorer.registry.names().includes(name)) {
        await scorer.resolve(name); // throws ModelNotFoundError (404) naming what exists
      }
      // Production is a view of the champion once a controller owns the model's routing: promote through it.
      const routed = alias === DEFAULT_ALIAS ? deps.routing?.forModel(name) : undefined;
      if (routed) {
        if (!scorer.registry.get(name, version))
          throw new AliasError(
            name,
            alias,
            `version "${version}" is not loaded (loaded: ${scorer.registry.versions(name).join(', ')})`,
          );
        const d = deps.deployments?.get(routed.deployment);
        if (d)
          await ensureController(
            deps.temporal,
            deps.config.temporal.taskQueue,
            await controllerInput(deps.temporal, deps.config.temporal.taskQueue, deps.pool, scorer, d),
          );
        await changeRouting(deps.temporal, deps.config.temporal.taskQueue, routed.deployment, {
          champion: version,
          actor: actorOf(c),
          reason: `alias ${alias} set to ${version}`,
        });
        await deps.routing?.refresh();
        await scorer.aliasStore.refresh();
        return c.json({ name, alias, version, previous }, 200);
      }
      await scorer.setAlias(name, alias, version);
      return c.json({ name, alias, version, previous }, 200);
    });
}

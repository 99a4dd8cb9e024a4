/**
 * The deployments over HTTP: every deployments/<name>.json, ready or refused (with the reason naming both sides),
 * and the modes of a ready one that wait (a batch source table not loaded yet).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { NotFoundError } from '../errors.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const DeploymentSchema = z
  .object({
    name: z.string(),
    file: z.string(),
    model: z.string(),
    status: z.enum(['ready', 'refused']),
    problems: z.array(z.string()),
    modes: z.array(z.enum(['online', 'batch', 'streaming'])),
    waiting: z.array(z.string()).openapi({
      example: [
        'batch: table penguins does not exist yet (load it, e.g. npm run load -- file.csv --table penguins --key penguin_id)',
      ],
    }),
    batch: z
      .object({ source: z.string(), sink: z.string(), rejected: z.string(), schedule: z.string().optional() })
      .optional(),
  })
  .openapi('Deployment');

const listRoute = createRoute({
  method: 'get',
  path: '/deployments',
  tags: ['deployments'],
  summary: 'Every deployment file: the model it binds, its modes, and why it was refused if it was',
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'The deployments', ...json(z.object({ deployments: z.array(DeploymentSchema) })) },
    ...problems(401, 503),
  },
});

const oneRoute = createRoute({
  method: 'get',
  path: '/deployments/{name}',
  tags: ['deployments'],
  summary: 'One deployment',
  security: [{ bearer: [] }],
  request: {
    params: z.object({
      name: z
        .string()
        .min(1)
        .openapi({ param: { name: 'name', in: 'path' }, example: 'penguin-species' }),
    }),
  },
  responses: {
    200: { description: 'The deployment', ...json(DeploymentSchema) },
    ...problems(401, 404, 503),
  },
});

export function deploymentRoutes(deps: AppDeps) {
  // A waiting mode is checked again on each read, so a table loaded since start shows without a restart.
  const list = async () => (await deps.deployments?.refresh()) ?? [];
  return routeGroup()
    .openapi(listRoute, async (c) => c.json({ deployments: await list() }, 200))
    .openapi(oneRoute, async (c) => {
      const { name } = c.req.valid('param');
      const all = await list();
      const found = all.find((d) => d.name === name);
      if (!found)
        throw new NotFoundError(
          `no deployment "${name}" (deployments: ${all.map((d) => d.name).join(', ') || 'none'})`,
        );
      return c.json(found, 200);
    });
}

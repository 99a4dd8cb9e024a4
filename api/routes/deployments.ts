/** The deployments over HTTP: every deployments/<name>.json, ready or refused (with the reason naming both sides). */
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
  const list = () => deps.deployments?.list() ?? [];
  return routeGroup()
    .openapi(listRoute, (c) => c.json({ deployments: list() }, 200))
    .openapi(oneRoute, (c) => {
      const { name } = c.req.valid('param');
      const found = list().find((d) => d.name === name);
      if (!found)
        throw new NotFoundError(
          `no deployment "${name}" (deployments: ${
            list()
              .map((d) => d.name)
              .join(', ') || 'none'
          })`,
        );
      return c.json(found, 200);
    });
}

/** Liveness and readiness: `/health` says the process is up; `/ready` checks every dependency and the models. */
import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { productionModels } from '../model-health.js';

type DependencyState = { ok: true; latencyMs: number } | { ok: false; error: string };

async function probe(check: () => Promise<unknown>, timeoutMs = 2000): Promise<DependencyState> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const Dependency = z.looseObject({ ok: z.boolean() });
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'not ready']),
    shuttingDown: z.boolean(),
    dependencies: z.object({ postgres: Dependency, temporal: Dependency, models: Dependency }),
  })
  .openapi('Readiness');

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  tags: ['ops'],
  summary: 'Liveness: the process answers',
  responses: {
    200: {
      description: 'Up',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
    },
  },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  tags: ['ops'],
  summary: 'Readiness: Postgres, Temporal and the production models; false while shutting down',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
    503: {
      description: 'Not ready (see which dependency)',
      content: { 'application/json': { schema: ReadySchema } },
    },
  },
});

export function opsRoutes(deps: AppDeps) {
  return routeGroup()
    .openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(readyRoute, async (c) => {
      const [postgres, temporal, models] = await Promise.all([
        probe(() => deps.pool.query('SELECT 1')),
        probe(() => deps.temporal.workflowService.getSystemInfo({})),
        productionModels(deps.scorer),
      ]);
      const shuttingDown = deps.lifecycle.shuttingDown;
      const ready = postgres.ok && temporal.ok && models.ok && !shuttingDown;
      return c.json(
        {
          status: ready ? ('ready' as const) : ('not ready' as const),
          shuttingDown,
          dependencies: { postgres, temporal, models },
        },
        ready ? 200 : 503,
      );
    });
}

/** Liveness and readiness: `/health` says the process is up; `/ready` checks every dependency. */
import { Hono } from 'hono';
import type { AppDeps } from '../deps.js';

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

export function opsRoutes(deps: AppDeps) {
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', async (c) => {
      const [postgres, temporal] = await Promise.all([
        probe(() => deps.pool.query('SELECT 1')),
        probe(() => deps.temporal.workflowService.getSystemInfo({})),
      ]);
      const shuttingDown = deps.lifecycle.shuttingDown;
      const ready = postgres.ok && temporal.ok && !shuttingDown;
      return c.json(
        { status: ready ? 'ready' : 'not ready', shuttingDown, dependencies: { postgres, temporal } },
        ready ? 200 : 503,
      );
    });
}

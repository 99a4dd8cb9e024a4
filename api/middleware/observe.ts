/**
 * First middleware of every request: X-Request-Id (the caller's when it is ≤ 128 chars of [A-Za-z0-9_-=], else a
 * new UUID; echoed on every response, errors included), the start time, and the per-route request metrics.
 */
import type { MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../env.js';
import type { ApiMetrics } from '../metrics.js';

export const REQUEST_ID_MAX_LENGTH = 128;

export function requestIdentity(): MiddlewareHandler<AppEnv> {
  return requestId({ limitLength: REQUEST_ID_MAX_LENGTH });
}

/** The registered route pattern that answered (`/v2/models/:name/infer`), so labels stay low-cardinality. */
function routeLabel(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}

export function observe(metrics: ApiMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    c.set('startedAt', started);
    try {
      await next();
    } finally {
      const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
      metrics.requests.inc(labels);
      metrics.latency.observe(labels, (performance.now() - started) / 1000);
    }
  };
}

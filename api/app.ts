/** The Hono application: one sub-app per route group, composed here; tests call `createApp(deps).request()`. */
import { Hono } from 'hono';
import type { AppDeps } from './deps.js';
import { errorHandler, problem } from './errors.js';
import { opsRoutes } from './routes/ops.js';

export function createApp(deps: AppDeps) {
  const app = new Hono();
  app.onError(errorHandler(deps.logger));
  app.notFound((c) => problem(c, 404, 'Not found', `No route for ${c.req.method} ${c.req.path}`));
  app.route('/', opsRoutes(deps));
  return app;
}

/** The service describing itself: `/openapi.json` (OpenAPI 3.1 from the route schemas), `/docs`, `/metrics`. */
import { swaggerUI } from '@hono/swagger-ui';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env.js';
import type { ApiMetrics } from '../metrics.js';

export function mountMeta(app: OpenAPIHono<AppEnv>, metrics: ApiMetrics, publicUrl: string): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'Authorization: Bearer <API_KEY> (control and admin routes)',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Model serving in three modes on Temporal',
      version: '0.1.0',
      description:
        'Online predictions for any loaded model (/models/{name}/predict, Open Inference Protocol V2 under /v2, and ' +
        'the course routes of its adapters), deployments, batch runs, schedules and streams over Temporal. Errors are ' +
        'RFC 9457 problem+json, except /v2 which answers {"error": "..."}.',
    },
    servers: [{ url: publicUrl }],
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );
}

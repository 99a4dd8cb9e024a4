/**
 * The service describing itself: `/openapi.json` (OpenAPI 3.1 from the route schemas), `/docs` (Swagger UI from
 * the `swagger-ui-dist` package, served here so the page works without internet), `/metrics`.
 */
import { createHash } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerAssets } from '../../ui/server/assets.js';
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
  const assets = swaggerAssets();
  app.get('/docs', (c) => c.html(DOCS_PAGE, 200, { 'content-security-policy': SAME_ORIGIN }));
  app.get('/docs/assets/:file', async (c) => {
    const asset = await assets(c.req.param('file'));
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, {
      'content-type': asset.contentType,
      'cache-control': 'public, max-age=3600',
    });
  });
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );
}

// validatorUrl null: Swagger UI would otherwise load a badge from an outside validator.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: null });`;

/** Same-origin only (the one inline script allowed by its hash): the page cannot reach another host. */
const SAME_ORIGIN = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash('sha256').update(INIT).digest('base64')}'`,
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "frame-ancestors 'self'",
].join('; ');

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>API docs</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" />
  </head>
  <body>
    <main id="swagger-ui"></main>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script>${INIT}</script>
  </body>
</html>
`;

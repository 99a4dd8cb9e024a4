/**
 * Streaming mode over HTTP: send events (one or an array) to a deployment's stream, read a stream's state, follow
 * its predictions as Server-Sent Events (resumable with Last-Event-ID, bounded by SSE_MAX_CONNECTIONS), replay a
 * dead letter. Events are generic `{event_id, record}`, or in a course adapter's shape (adapters/streams.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { streamAdapters } from '../../adapters/streams.js';
import { DEPLOYMENT_NAME } from '../../contracts/deployment.js';
import { checkLabels } from '../../activities/labels.js';
import {
  createStreamSender,
  getStreamState,
  replayDeadLetter,
  sendLabels,
  streamPredictions,
} from '../../control/streams.js';
import { modelOf } from '../../platform/deployments.js';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { NotFoundError, PayloadTooLargeError, UnavailableError, ValidationError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const StreamParams = z.object({
  streamId: z
    .string()
    .min(1)
    .openapi({ param: { name: 'streamId', in: 'path' }, example: 'demo' }),
});
const EventSchema = z
  .looseObject({
    event_id: z.union([z.string(), z.number()]).openapi({ example: 'e-1' }),
    record: z
      .record(z.string(), z.unknown())
      .openapi({ description: "Fields of the deployment's model signature", example: { island: 'Dream' } }),
    key: z.union([z.string(), z.number()]).optional(),
    received_at: z.string().optional(),
  })
  .openapi('StreamEvent');
// Every shape an event may have: the generic one and each course adapter's.
const EVENT_SCHEMAS = ['StreamEvent', ...streamAdapters().map((a) => a.schemaName)];
const eventRefs = EVENT_SCHEMAS.map((name) => ({ $ref: `#/components/schemas/${name}` }));
const DeploymentQuery = z.object({
  deployment: z
    .string()
    .regex(DEPLOYMENT_NAME, 'must be a deployment name')
    .optional()
    .openapi({ description: 'The deployment a new stream scores for (default: the default deployment)' }),
});
const eventsBody = {
  // Validated per event by the control layer (bad events are reported, good ones still sent).
  body: {
    ...json(
      z.union([z.array(z.unknown()), z.looseObject({})]).openapi({
        description: 'One event or an array of them',
        oneOf: [...eventRefs, { type: 'array', items: { oneOf: eventRefs } }],
      }),
    ),
    required: true,
  },
};
const acceptedResponse = {
  202: {
    description: 'Accepted for scoring',
    ...json(
      z.object({
        streamId: z.string(),
        workflowId: z.string(),
        accepted: z.number().int(),
        duplicates: z.number().int(),
        rejected: z.array(z.object({ index: z.number().int(), field: z.string(), message: z.string() })),
      }),
    ),
  },
  ...problems(400, 401, 413, 415, 503),
};

const deploymentEventsRoute = createRoute({
  method: 'post',
  path: '/deployments/{deployment}/streams/{streamId}/events',
  tags: ['streams'],
  summary: "Send events to a deployment's stream (starts the stream on first use; requires API key)",
  security: [{ bearer: [] }],
  request: {
    params: StreamParams.extend({
      deployment: z
        .string()
        .regex(DEPLOYMENT_NAME, 'must be a deployment name')
        .openapi({ param: { name: 'deployment', in: 'path' }, example: 'penguin-species' }),
    }),
    ...eventsBody,
  },
  responses: acceptedResponse,
});

const eventsRoute = createRoute({
  method: 'post',
  path: '/streams/{streamId}/events',
  tags: ['streams'],
  summary: 'Send one event or an array of them (starts the stream on first use; requires API key)',
  security: [{ bearer: [] }],
  request: { params: StreamParams, query: DeploymentQuery, ...eventsBody },
  responses: acceptedResponse,
});

const stateRoute = createRoute({
  method: 'get',
  path: '/streams/{streamId}',
  tags: ['streams'],
  summary: "A stream's state (queue, counters, model, prediction summary)",
  request: { params: StreamParams },
  responses: {
    200: {
      description: 'The state query of the running stream',
      ...json(z.looseObject({ streamId: z.string() })),
    },
    ...problems(400, 404),
  },
});

const sseRoute = createRoute({
  method: 'get',
  path: '/streams/{streamId}/predictions',
  tags: ['streams'],
  summary: 'Predictions as Server-Sent Events (id = persisted id; send Last-Event-ID to resume)',
  request: {
    params: StreamParams,
    query: z.object({ after: z.string().regex(/^\d+$/, 'must be a prediction id').optional() }),
  },
  responses: {
    200: {
      description: 'text/event-stream of `prediction` events',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...problems(400, 503),
  },
});

const replayRoute = createRoute({
  method: 'post',
  path: '/streams/{streamId}/dead-letters/{eventId}/replay',
  tags: ['streams'],
  summary: 'Re-queue a dead letter, optionally with a corrected record (requires API key)',
  security: [{ bearer: [] }],
  request: {
    params: StreamParams.extend({
      eventId: z
        .string()
        .min(1)
        .openapi({ param: { name: 'eventId', in: 'path' } }),
    }),
    // A course adapter may name the corrected record its own way: unknown fields go to the workflow as they are.
    body: {
      ...json(z.looseObject({ record: z.record(z.string(), z.unknown()).optional() })),
      required: false,
    },
  },
  responses: {
    200: {
      description: 'Re-queued',
      ...json(z.object({ eventId: z.string(), queueLength: z.number().int() })),
    },
    ...problems(400, 401, 404, 503),
  },
});

const MAX_LABELS = 10_000;
const labelsRoute = createRoute({
  method: 'post',
  path: '/deployments/{deployment}/streams/{streamId}/labels',
  tags: ['streams'],
  summary:
    "Late labels for a running stream's predictions, by record key (the stream writes them; requires API key)",
  security: [{ bearer: [] }],
  request: {
    params: StreamParams.extend({
      deployment: z
        .string()
        .regex(DEPLOYMENT_NAME, 'must be a deployment name')
        .openapi({ param: { name: 'deployment', in: 'path' }, example: 'penguin-species' }),
    }),
    body: {
      ...json(
        z
          .array(z.unknown())
          .min(1, 'must hold at least one {key, label}')
          .openapi({ description: 'A list of {key, label}' }),
      ),
      required: true,
    },
  },
  responses: {
    202: {
      description: 'Signalled to the stream',
      ...json(z.object({ streamId: z.string(), accepted: z.number().int() })),
    },
    ...problems(400, 401, 404, 413, 415, 503),
  },
});

export function streamRoutes(deps: AppDeps, metrics: ApiMetrics) {
  let open = 0;
  const sender = deps.streamSender ?? createStreamSender(deps.temporal, deps.config);
  const app = routeGroup();
  app.openAPIRegistry.register('StreamEvent', EventSchema);
  for (const adapter of streamAdapters())
    app.openAPIRegistry.registerComponent('schemas', adapter.schemaName, adapter.schema);
  const send = async (streamId: string, body: unknown, deployment: string | undefined) => {
    const events: unknown[] = Array.isArray(body) ? body : [body];
    const result = await sender.send(streamId, events, deployment ? { deployment } : {});
    if (result.accepted === 0 && result.rejected.length > 0) {
      throw new ValidationError(
        result.rejected.map((r) => ({
          field: Array.isArray(body) ? `[${r.index}].${r.field}` : r.field,
          message: r.message,
        })),
      );
    }
    const { accepted, duplicates, rejected, workflowId } = result;
    return { streamId, workflowId, accepted, duplicates, rejected };
  };
  return app
    .openapi(eventsRoute, async (c) => {
      const { streamId } = c.req.valid('param');
      return c.json(await send(streamId, c.req.valid('json'), c.req.valid('query').deployment), 202);
    })
    .openapi(deploymentEventsRoute, async (c) => {
      const { streamId, deployment } = c.req.valid('param');
      return c.json(await send(streamId, c.req.valid('json'), deployment), 202);
    })
    .openapi(labelsRoute, async (c) => {
      const { streamId, deployment } = c.req.valid('param');
      const d = deps.deployments?.get(deployment);
      const model = d ? modelOf(deps.scorer, d.spec) : undefined;
      if (!model || typeof model === 'string') throw new NotFoundError(`no ready deployment "${deployment}"`);
      const body = c.req.valid('json');
      if (body.length > MAX_LABELS)
        throw new PayloadTooLargeError(
          `the body holds ${body.length} labels; at most ${MAX_LABELS} per call`,
        );
      const { labels, errors } = checkLabels(model, body);
      if (errors.length > 0) throw new ValidationError(errors.slice(0, 20));
      return c.json({ streamId, accepted: await sendLabels(deps.temporal, streamId, labels) }, 202);
    })
    .openapi(stateRoute, async (c) =>
      c.json(await getStreamState(deps.temporal, c.req.valid('param').streamId), 200),
    )
    .openapi(replayRoute, async (c) => {
      const { streamId, eventId } = c.req.valid('param');
      const { record, ...fields } = c.req.valid('json');
      return c.json(await replayDeadLetter(deps.temporal, streamId, eventId, record, fields), 200);
    })
    .openapi(sseRoute, (c) => {
      const { streamId } = c.req.valid('param');
      const max = deps.config.api.sseMaxConnections;
      if (open >= max)
        throw new UnavailableError(`${open} prediction streams are open (limit ${max}); retry later`, 5);
      const afterId = c.req.header('last-event-id') ?? c.req.valid('query').after ?? '0';
      open++;
      metrics.sseConnections.inc();
      return streamSSE(c, async (sse) => {
        const controller = new AbortController();
        sse.onAbort(() => controller.abort());
        // Shutdown ends open streams so the server can drain; clients reconnect elsewhere with Last-Event-ID.
        const watch = setInterval(() => deps.lifecycle.shuttingDown && controller.abort(), 250);
        try {
          for await (const event of streamPredictions(deps.pool, streamId, {
            afterId,
            signal: controller.signal,
          })) {
            await sse.writeSSE({ id: event.id, event: 'prediction', data: JSON.stringify(event.data) });
          }
        } finally {
          clearInterval(watch);
          open--;
          metrics.sseConnections.dec();
        }
      });
    });
}

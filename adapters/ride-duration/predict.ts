/**
 * The course's online contract: `POST /predict` (one ride) and `POST /predict/batch` (many), answered in its exact
 * shape (`{duration, model_name, model_version}`) through the generic scorer and dynamic batcher.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { FieldRecord } from '../../contracts/scoring.js';
import type { AppDeps } from '../../api/deps.js';
import { issuesToErrors, routeGroup, type AppEnv } from '../../api/env.js';
import { PayloadTooLargeError, ValidationError } from '../../api/errors.js';
import type { ApiMetrics } from '../../api/metrics.js';
import { submit, type Online } from '../../api/online.js';
import type { PredictionRecord } from '../../api/prediction-log.js';
import { recordKeyOf, roleOf, splitRef, stickyKey } from '../../api/routing.js';
import { routedJson } from '../../api/role-answer.js';
import { problems } from '../../api/schemas/predict.js';
import { wallClock } from '../../platform/wall-clock.js';
import {
  BatchBodySchema,
  BatchResponseSchema,
  isPlainRide,
  ModelQuerySchema,
  PredictionSchema,
  RideSchema,
  type RideBody,
} from './schemas.js';

/** The model the course's routes answer with unless `?model=` names another (as deployments/ride-duration.json). */
export const COURSE_MODEL_REF = 'ride-duration@production';
/** A missing pickup time means now, in New York wall-clock time like the TLC data. */
const newYorkNow = (now = new Date()) => wallClock(now, 'America/New_York');

/** The record the ride cards' signatures read. */
interface RideRecord extends FieldRecord {
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
  pickup_datetime: string;
}

/** `application/json`, optionally with a charset: accepted alike by the media-type gate and the JSON validator. */
const PLAIN_JSON = /^application\/json(;\s*charset=[\w-]+)?$/i;

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const predictRoute = createRoute({
  method: 'post',
  path: '/predict',
  tags: ['online'],
  summary: 'Predict the duration of one ride',
  request: { query: ModelQuerySchema, body: { ...json(RideSchema), required: true } },
  responses: {
    200: {
      description: 'The prediction and the exact model version that made it',
      ...json(PredictionSchema),
    },
    ...problems(400, 401, 404, 413, 415, 503),
  },
});

const batchRoute = createRoute({
  method: 'post',
  path: '/predict/batch',
  tags: ['online'],
  summary:
    'Predict many rides in one call; invalid rides get an error naming the field, valid ones are scored',
  request: { query: ModelQuerySchema, body: { ...json(BatchBodySchema), required: true } },
  responses: {
    200: { description: 'One entry per ride, in order', ...json(BatchResponseSchema) },
    ...problems(400, 401, 404, 413, 415, 503),
  },
});

/** The scorer's ride: the pickup time from either field name, or now in New York when absent. */
function toRide(body: RideBody, now: () => string): RideRecord {
  return {
    PULocationID: body.PULocationID,
    DOLocationID: body.DOLocationID,
    trip_distance: body.trip_distance,
    pickup_datetime: body.lpep_pickup_datetime ?? body.pickup_datetime ?? now(),
  };
}

export function coursePredictRoutes(deps: AppDeps, online: Online, metrics: ApiMetrics) {
  const record = (
    c: Context<AppEnv>,
    route: string,
    model: { name: string; version: string },
    rowIndex: number,
    features: Record<string, unknown>,
    prediction: number,
  ): PredictionRecord => ({
    requestId: c.get('requestId'),
    rowIndex,
    route,
    model: model.name,
    version: model.version,
    features,
    prediction,
    latencyMs: performance.now() - c.get('startedAt'),
    createdAt: new Date(),
  });

  const predictOne = async (c: Context<AppEnv>, body: RideBody, ref: string) => {
    const { name, tag } = splitRef(ref);
    const ride = toRide(body, newYorkNow);
    const records = [ride];
    const asked = online.routing.route(name, tag, (s) => stickyKey(c, s, ride));
    const { routed, out } = await online.routing.score(c, asked, records, '/predict', (m) =>
      submit(online.records, m, records, c.get('arrived')),
    );
    const rejection = out.rejections[0];
    const duration = out.predictions[0];
    if (rejection || typeof duration !== 'number') {
      throw new ValidationError([
        { field: rejection?.field ?? '(ride)', message: rejection?.reason ?? 'was not scored' },
      ]);
    }
    metrics.predictionTally(out.model.name, out.model.version, '/predict').inc();
    if (online.routing.logs(routed))
      deps.predictionLog?.record([
        {
          ...record(c, '/predict', out.model, 0, { ...ride }, duration),
          ...roleOf(routed),
          recordKey: recordKeyOf(routed, ride, c.get('requestId'), 0, false),
        },
      ]);
    if (routed.shadow) online.routing.shadow(c, routed, records, out, '/predict');
    return routedJson(c, { duration, model_name: out.model.name, model_version: out.model.version }, routed);
  };

  // The common request (no query, JSON that RideSchema accepts unchanged) skips the generic validator chain;
  // anything else falls through to the zod route below, which answers exactly as before.
  const fastPredict = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    if (c.req.url.includes('?') || !PLAIN_JSON.test(c.req.header('content-type') ?? '')) return next();
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return next();
    }
    return isPlainRide(body) ? predictOne(c, body, COURSE_MODEL_REF) : next();
  };
  // First handler of /predict: counts the request as arriving (see api/online.ts Arrivals) until it reaches the
  // batcher, like the app's `arriving` middleware does for the other scoring routes, one middleware step cheaper.
  const enterPredict: MiddlewareHandler<AppEnv> = async (c, next) => {
    const arrived = online.arrivals.enter();
    c.set('arrived', arrived);
    try {
      return await fastPredict(c, next);
    } finally {
      arrived();
    }
  };

  const group = routeGroup();
  group.post('/predict', enterPredict);
  return group
    .openapi(predictRoute, (c) =>
      predictOne(c, c.req.valid('json'), c.req.valid('query').model ?? COURSE_MODEL_REF),
    )
    .openapi(batchRoute, async (c) => {
      const { rides } = c.req.valid('json');
      const limit = deps.config.api.maxBatchRecords;
      if (rides.length > limit) {
        throw new PayloadTooLargeError(`rides holds ${rides.length} rides; at most ${limit} per call`);
      }
      const { name, tag } = splitRef(c.req.valid('query').model ?? COURSE_MODEL_REF);
      const now = newYorkNow();
      const valid: RideRecord[] = [];
      const position: number[] = [];
      const errors = new Map<number, { field: string; message: string }>();
      rides.forEach((raw, index) => {
        const parsed = RideSchema.safeParse(raw);
        if (!parsed.success) {
          const first = issuesToErrors(parsed.error)[0] ?? { field: '(ride)', message: 'is invalid' };
          errors.set(index, first);
          return;
        }
        position.push(index);
        valid.push(toRide(parsed.data, () => now));
      });
      const asked = online.routing.route(name, tag, (s) => stickyKey(c, s, valid[0]));
      const scored_ =
        valid.length > 0
          ? await online.routing.score(c, asked, valid, '/predict/batch', (m) =>
              submit(online.records, m, valid, c.get('arrived')),
            )
          : undefined;
      const routed = scored_?.routed ?? asked;
      const out = scored_?.out;
      const durations = new Array<number | null>(rides.length).fill(null);
      position.forEach((index, k) => {
        const d = out?.predictions[k];
        durations[index] = typeof d === 'number' ? d : null;
      });
      for (const rej of out?.rejections ?? []) {
        const index = position[rej.index];
        if (index !== undefined) errors.set(index, { field: rej.field, message: rej.reason });
      }
      const predictions = durations.map((duration, index) => {
        const error = errors.get(index);
        return error || duration === null
          ? { duration: null, error: error ?? { field: '(ride)', message: 'was not scored' } }
          : { duration };
      });
      const scored = rides.length - errors.size;
      const resolved = out?.model ?? routed.resolved;
      metrics.predictions.inc(
        { model: resolved.name, version: resolved.version, route: '/predict/batch' },
        scored,
      );
      if (deps.predictionLog && out && online.routing.logs(routed)) {
        const rows: PredictionRecord[] = [];
        position.forEach((index, k) => {
          const d = out.predictions[k];
          if (typeof d === 'number')
            rows.push({
              ...record(c, '/predict/batch', resolved, index, { ...valid[k] }, d),
              ...roleOf(routed),
            });
        });
        deps.predictionLog.record(rows);
      }
      if (out) online.routing.shadow(c, routed, valid, out, '/predict/batch');
      return routedJson(
        c,
        {
          model_name: resolved.name,
          model_version: resolved.version,
          scored,
          rejected: errors.size,
          predictions,
        },
        routed,
      );
    });
}

/**
 * Online predictions for any loaded model: `POST /models/{name}/predict` takes one record (a JSON object) or a list
 * (a JSON array) as the card's signature declares it, and answers the card's outputs by name. Records go through
 * the dynamic batcher; a bad record is a 400 (alone) or an error entry (in a list), naming the field and the reason.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  DEFAULT_ALIAS,
  type FieldRecord,
  type Prediction,
  type ScoreOutput,
} from '../../contracts/scoring.js';
import { predictionAt } from '../../scoring/predictions.js';
import type { LoadedModel } from '../../scoring/load-model.js';
import type { AppDeps } from '../deps.js';
import { routeGroup, type AppEnv } from '../env.js';
import { PayloadTooLargeError, ValidationError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import { submit, type Online } from '../online.js';
import type { PredictionRecord } from '../prediction-log.js';
import { routedJson } from '../role-answer.js';
import { recordKeyOf, stickyKey, type Routed } from '../routing.js';
import { problems, RowError } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const Params = z.object({
  name: z
    .string()
    .min(1)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'penguin-species' }),
});
const Query = z.object({
  version: z
    .string()
    .regex(/^[0-9A-Za-z._-]+$/, 'must be a version or an alias')
    .optional()
    .openapi({ description: `Version or alias (default ${DEFAULT_ALIAS})`, example: '1' }),
});
const RecordSchema = z.record(z.string(), z.unknown()).openapi('Record', {
  description: "One record with the fields of the model card's signature (GET /models)",
});
const Body = z.union([RecordSchema, z.array(z.unknown()).min(1, 'must hold at least one record')]);
const PredictionJson = z.record(z.string(), z.unknown()).openapi('ModelPrediction', {
  description:
    'By task: regression {<name>: value}; classification {label, probabilities: {class: p}}; otherwise {<output>: value}',
});
const OneAnswer = z
  .object({ model_name: z.string(), model_version: z.string(), prediction: PredictionJson })
  .openapi('ModelPredictResponse');
const ListAnswer = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    scored: z.number().int(),
    rejected: z.number().int(),
    predictions: z.array(z.union([z.object({ prediction: PredictionJson }), z.object({ error: RowError })])),
  })
  .openapi('ModelPredictListResponse');

const route = createRoute({
  method: 'post',
  path: '/models/{name}/predict',
  tags: ['online'],
  summary: 'Predict with any loaded model: one record (object) or many (array), answered by output name',
  request: { params: Params, query: Query, body: { ...json(Body), required: true } },
  responses: {
    200: {
      description: 'The prediction(s) and the exact model version',
      ...json(z.union([OneAnswer, ListAnswer])),
    },
    ...problems(400, 401, 404, 413, 415, 503),
  },
});

export function modelPredictRoutes(deps: AppDeps, online: Online, metrics: ApiMetrics) {
  const ROUTE = '/models/{name}/predict';
  const log = (
    c: Context<AppEnv>,
    routed: Routed,
    model: LoadedModel,
    records: readonly FieldRecord[],
    out: ScoreOutput,
  ) => {
    if (!online.routing.logs(routed)) return;
    const latencyMs = performance.now() - c.get('startedAt');
    const createdAt = new Date();
    const rows: PredictionRecord[] = [];
    out.scored.forEach((index, k) => {
      const primary = out.predictions[index];
      rows.push({
        requestId: c.get('requestId'),
        rowIndex: index,
        route: ROUTE,
        model: model.name,
        version: model.version,
        features: { ...records[index] },
        prediction: typeof primary === 'number' ? primary : null,
        output: predictionAt(model, out, k),
        latencyMs,
        createdAt,
        role: routed.role,
        recordKey: recordKeyOf(routed, records[index], c.get('requestId'), index, records.length > 1),
        ...(routed.deployment ? { deployment: routed.deployment } : {}),
      });
    });
    deps.predictionLog?.record(rows);
  };

  return routeGroup().openapi(route, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const many = Array.isArray(body);
    const records = (many ? body : [body]) as FieldRecord[];
    const limit = deps.config.api.maxBatchRecords;
    if (records.length > limit)
      throw new PayloadTooLargeError(`the body holds ${records.length} records; at most ${limit} per call`);
    const asked = online.routing.route(name, c.req.valid('query').version, (s) =>
      stickyKey(c, s, records[0]),
    );
    const { routed, out } = await online.routing.score(c, asked, records, ROUTE, (m) =>
      submit(online.records, m, records, c.get('arrived')),
    );
    const model = deps.scorer.registry.get(out.model.name, out.model.version);
    if (!model) throw new Error(`${name} resolved to ${out.model.version}, which is not loaded`);
    metrics.predictions.inc(
      { model: model.name, version: model.version, route: '/models/predict' },
      out.scored.length,
    );
    log(c, routed, model, records, out);
    online.routing.shadow(c, routed, records, out, ROUTE);
    const answers: ({ prediction: Prediction } | { error: { field: string; message: string } })[] =
      records.map(() => ({ error: { field: '(record)', message: 'was not scored' } }));
    out.scored.forEach((index, k) => (answers[index] = { prediction: predictionAt(model, out, k) }));
    for (const r of out.rejections)
      answers[r.index] = {
        error: { field: r.field === 'row' && !many ? '(body)' : r.field, message: r.reason },
      };
    const head = { model_name: model.name, model_version: model.version };
    if (!many) {
      const only = answers[0];
      if (!only || 'error' in only)
        throw new ValidationError([only?.error ?? { field: '(body)', message: 'was not scored' }]);
      return routedJson(c, { ...head, prediction: only.prediction }, routed);
    }
    return routedJson(
      c,
      { ...head, scored: out.scored.length, rejected: out.rejections.length, predictions: answers },
      routed,
    );
  });
}

/**
 * Open Inference Protocol V2 (KServe / Triton REST) over the model repository: server and model metadata, health,
 * readiness, and infer with JSON tensors or the binary tensor data extension, so `tritonclient.http` works with its
 * defaults. Errors answer `{"error": "..."}` (see the app's onError).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { DEFAULT_ALIAS, type ResolvedModel, type TensorDtype } from '../../contracts/scoring.js';
import type { LoadedModel } from '../../scoring/load-model.js';
import { predictionAt } from '../../scoring/predictions.js';
import type { TensorOutputs, TensorRows } from '../../scoring/tensors.js';
import type { AppDeps } from '../deps.js';
import { routeGroup, type AppEnv } from '../env.js';
import { ApiError, InferenceError } from '../errors.js';
import { productionModels } from '../model-health.js';
import type { ApiMetrics } from '../metrics.js';
import { submit, type Online } from '../online.js';
import type { PredictionRecord } from '../prediction-log.js';
import { routedJson } from '../role-answer.js';
import { roleOf, stickyKey, type Routed } from '../routing.js';
import { DATATYPES, HEADER_LENGTH, InferRequestSchema, parseBody, toColumns } from '../v2/request.js';
import { binaryData, datatypeOf, jsonData, shapeOf } from '../v2/response.js';

const SERVER = { name: 'temporal-model-serving', version: '0.1.0', extensions: ['binary_tensor_data'] };

const ModelMetadataSchema = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })),
    outputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })),
  })
  .openapi('ModelMetadata');

const V2ErrorSchema = z.object({ error: z.string() }).openapi('V2Error');
const jsonOf = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const notFound = { 404: { description: 'Unknown model or version', ...jsonOf(V2ErrorSchema) } };

const InferResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    outputs: z.array(
      z.object({
        name: z.string(),
        datatype: z.string(),
        shape: z.array(z.number()),
        data: z.array(z.number()).optional(),
        parameters: z.object({ binary_data_size: z.number() }).optional(),
      }),
    ),
  })
  .openapi('InferResponse');

/** Documentation of the routes registered by hand below (their bodies are not plain JSON). */
function documented(app: ReturnType<typeof routeGroup>) {
  const simple = (path: string, summary: string, schema: z.ZodType) =>
    app.openAPIRegistry.registerPath(
      createRoute({
        method: 'get',
        path,
        tags: ['v2'],
        summary,
        responses: { 200: { description: summary, ...jsonOf(schema) } },
      }),
    );
  simple(
    '/v2',
    'Server metadata (V2)',
    z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }),
  );
  simple('/v2/health/live', 'Server liveness (V2)', z.object({ live: z.boolean() }));
  simple('/v2/health/ready', 'Server readiness (V2); 503 when not ready', z.object({ ready: z.boolean() }));
  const paths = ['/v2/models/{name}', '/v2/models/{name}/versions/{version}'];
  for (const base of paths) {
    app.openAPIRegistry.registerPath(
      createRoute({
        method: 'get',
        path: base,
        tags: ['v2'],
        summary: 'Model metadata (V2)',
        responses: {
          200: { description: 'Metadata from the model card', ...jsonOf(ModelMetadataSchema) },
          ...notFound,
        },
      }),
    );
    simple(
      `${base}/ready`,
      'Model readiness (V2)',
      z.object({ name: z.string(), version: z.string(), ready: z.boolean() }),
    );
    app.openAPIRegistry.registerPath(
      createRoute({
        method: 'post',
        path: `${base}/infer`,
        tags: ['v2'],
        summary:
          'Inference (V2): JSON tensors, or JSON header + binary tensors (Inference-Header-Content-Length)',
        request: {
          body: {
            content: {
              'application/json': { schema: InferRequestSchema },
              'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) },
            },
          },
        },
        responses: {
          200: {
            description: 'Outputs (binary ones follow the JSON header)',
            ...jsonOf(InferResponseSchema),
          },
          400: { description: 'Names the input and the problem', ...jsonOf(V2ErrorSchema) },
          ...notFound,
        },
      }),
    );
  }
  return app;
}

export function v2Routes(deps: AppDeps, online: Online, metrics: ApiMetrics) {
  const { scorer } = deps;

  const resolve = async (name: string, version: string | undefined): Promise<ResolvedModel> => {
    if (!scorer.registry.names().includes(name)) throw new InferenceError(404, `unknown model "${name}"`);
    try {
      return await scorer.resolve(`${name}@${version ?? DEFAULT_ALIAS}`);
    } catch {
      throw new InferenceError(
        404,
        `model "${name}" has no version "${version ?? DEFAULT_ALIAS}" (loaded: ${scorer.registry.versions(name).join(', ')})`,
      );
    }
  };

  /**
   * A call naming no version follows the deployment's routing: canary by share or by the sticky header (a V2 body
   * has no record fields). A challenger whose inputs differ from the champion's is not sent raw tensors meant for
   * the champion: such a call stays with the champion. Shadow scoring applies to the record routes only.
   */
  const routeV2 = (c: Context<AppEnv>, name: string): Routed | undefined => {
    if (!scorer.registry.names().includes(name)) return undefined; // resolve() answers the 404
    const routed = online.routing.route(name, undefined, (s) => stickyKey(c, s, undefined));
    if (routed.role !== 'canary' || !routed.state) return { ...routed, shadow: undefined };
    const inputsOf = (v: string) =>
      JSON.stringify(scorer.registry.get(name, v)?.card.inputs.map((i) => [i.name, i.dtype, i.shape]));
    if (inputsOf(routed.resolved.version) === inputsOf(routed.state.champion))
      return { ...routed, shadow: undefined };
    return {
      ...routed,
      role: 'champion',
      resolved: scorer.resolveNow(`${name}@${routed.state.champion}`),
      shadow: undefined,
    };
  };

  const metadata = async (c: Context<AppEnv>) => {
    const name = c.req.param('name') ?? '';
    const model = await resolve(name, c.req.param('version'));
    const card = (await scorer.describe(model)).card;
    const tensor = (t: { name: string; dtype: TensorDtype; shape: number[] }) => ({
      name: t.name,
      datatype: DATATYPES[t.dtype],
      shape: t.shape,
    });
    return c.json({
      name,
      versions: c.req.param('version') ? [model.version] : scorer.registry.versions(name),
      platform: 'onnxruntime_onnx',
      inputs: card.inputs.map(tensor),
      outputs: card.outputs.map(tensor),
    });
  };

  const ready = async (c: Context<AppEnv>) => {
    const model = await resolve(c.req.param('name') ?? '', c.req.param('version'));
    return c.json({ name: model.name, version: model.version, ready: true });
  };

  const infer = async (c: Context<AppEnv>) => {
    const type = c.req.header('content-type');
    if (type && !/^application\/(json|octet-stream)\b/i.test(type))
      throw new InferenceError(
        415,
        `Content-Type ${type} is not supported; use application/json or application/octet-stream`,
      );
    const name = c.req.param('name') ?? '';
    const version = c.req.param('version');
    let routed = version === undefined ? routeV2(c, name) : undefined;
    let model = routed?.resolved ?? (await resolve(name, version));
    let loaded = scorer.registry.get(model.name, model.version);
    if (!loaded) throw new InferenceError(404, `model "${name}" version ${model.version} is not loaded`);
    const { card } = loaded;
    const body = new Uint8Array(await c.req.arrayBuffer());
    const { request, binary } = parseBody(body, c.req.header(HEADER_LENGTH));
    const ref = `${model.name}@${model.version}`;
    const input = toColumns(card.inputs, ref, request, binary, deps.config.api.maxBatchRecords);
    const wanted = request.outputs ?? card.outputs.map((o) => ({ name: o.name, parameters: undefined }));
    for (const o of wanted) {
      if (!card.outputs.some((spec) => spec.name === o.name))
        throw new InferenceError(
          400,
          `unknown output "${o.name}"; ${ref} outputs ${card.outputs.map((s) => s.name).join(', ')}`,
        );
    }
    let values: TensorOutputs;
    try {
      values = await submit(online.tensors, model, input, c.get('arrived'));
    } catch (err) {
      const champion = routed?.state?.champion;
      if (routed?.role !== 'canary' || champion === undefined) throw err;
      // A canary that fails is the challenger's error (its gate counts it); the champion answers the call.
      const message = err instanceof Error ? err.message : String(err);
      deps.logger.warn({ model: ref, err: message }, 'canary scoring failed; the champion answers');
      deps.predictionLog?.record([
        {
          requestId: c.get('requestId'),
          rowIndex: 0,
          route: '/v2/infer',
          model: model.name,
          version: model.version,
          features: {},
          prediction: null,
          latencyMs: performance.now() - c.get('startedAt'),
          createdAt: new Date(),
          ...roleOf(routed),
          error: message,
          recordKey: c.get('requestId'),
        },
      ]);
      routed = { ...routed, role: 'champion', resolved: scorer.resolveNow(`${name}@${champion}`) };
      model = routed.resolved;
      loaded = scorer.registry.get(model.name, model.version) ?? loaded;
      values = await submit(online.tensors, model, input);
    }
    metrics.predictions.inc({ model: model.name, version: model.version, route: '/v2/infer' }, input.rows);
    if (routed ? online.routing.logs(routed) : deps.predictionLog)
      deps.predictionLog?.record(
        logRows(c, loaded, input, values).map((r) => ({
          ...r,
          ...(routed ? roleOf(routed) : {}),
          recordKey: input.rows > 1 ? `${r.requestId}:${r.rowIndex}` : r.requestId,
        })),
      );

    const binaryDefault = request.parameters?.binary_data_output === true;
    const chunks: Uint8Array[] = [];
    const outputs = wanted.map((o) => {
      const spec = card.outputs.find((s) => s.name === o.name);
      const column = values[o.name];
      if (!spec || !column) throw new InferenceError(500, `output "${o.name}" was not computed`);
      const datatype = datatypeOf(column);
      const flag = o.parameters?.binary_data;
      const asBinary = typeof flag === 'boolean' ? flag : binaryDefault;
      const shape = shapeOf(spec.shape, input.rows, column.width);
      if (!asBinary) return { name: o.name, datatype, shape, data: jsonData(column) };
      const data = binaryData(column);
      chunks.push(data);
      return { name: o.name, datatype, shape, parameters: { binary_data_size: data.byteLength } };
    });
    const response = {
      model_name: model.name,
      model_version: model.version,
      ...(request.id !== undefined ? { id: request.id } : {}),
      outputs,
    };
    if (chunks.length === 0) return routedJson(c, response, routed);
    const header = Buffer.from(JSON.stringify(response), 'utf8');
    const payload = Buffer.concat([header, ...chunks]);
    return c.body(payload, 200, {
      'content-type': 'application/octet-stream',
      [HEADER_LENGTH]: String(header.length),
      ...(routed?.state ? { 'x-model-role': routed.role } : {}),
    });
  };

  const logRows = (
    c: Context<AppEnv>,
    model: LoadedModel,
    input: TensorRows,
    values: TensorOutputs,
  ): PredictionRecord[] => {
    const latencyMs = performance.now() - c.get('startedAt');
    const createdAt = new Date();
    // Row i of a [-1, n] input is its n values (row-major); one value for a [-1, 1] input.
    const widths = new Map(model.rules.map((r) => [r.input, r.width]));
    const cell = (
      name: string,
      data: TensorRows['columns'] extends Map<string, infer D> ? D : never,
      i: number,
    ) => {
      const w = widths.get(name) ?? 1;
      const values = Array.from({ length: w }, (_, j) => {
        const v = data[i * w + j];
        return typeof v === 'bigint' ? Number(v) : v;
      });
      return w === 1 ? values[0] : values;
    };
    return Array.from({ length: input.rows }, (_, i) => {
      const output = predictionAt(model, { outputs: values }, i);
      const primary = model.task.kind === 'regression' ? output[model.task.name] : undefined;
      return {
        requestId: c.get('requestId'),
        rowIndex: i,
        route: '/v2/infer',
        model: model.name,
        version: model.version,
        features: Object.fromEntries([...input.columns].map(([k, col]) => [k, cell(k, col, i)])),
        prediction: typeof primary === 'number' ? primary : null,
        ...(model.task.kind === 'regression' ? {} : { output }),
        latencyMs,
        createdAt,
      };
    });
  };

  const app = documented(routeGroup());
  return app
    .get('/v2', (c) => c.json(SERVER))
    .get('/v2/health/live', (c) => c.json({ live: true }))
    .get('/v2/health/ready', async (c) => {
      const ok = !deps.lifecycle.shuttingDown && (await productionModels(scorer)).ok;
      return c.json({ ready: ok }, ok ? 200 : 503);
    })
    .get('/v2/models/:name', metadata)
    .get('/v2/models/:name/versions/:version', metadata)
    .get('/v2/models/:name/ready', ready)
    .get('/v2/models/:name/versions/:version/ready', ready)
    .post('/v2/models/:name/infer', infer)
    .post('/v2/models/:name/versions/:version/infer', infer)
    .all('/v2/*', () => {
      throw new ApiError(404, 'Not found', 'no such V2 endpoint');
    });
}

/** Open Inference Protocol V2 on the real app: metadata, health, JSON and binary tensors, exact error bodies. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers.js';

const rides = [
  { PULocationID: 10, DOLocationID: 50, trip_distance: 40, pickup_datetime: '2021-02-02T09:30:00' },
  { PULocationID: 152, DOLocationID: 74, trip_distance: 1.64, pickup_datetime: '2021-02-06T17:15:00' },
];
// 2021-02-02 is a Tuesday (dow 1), 2021-02-06 a Saturday (dow 5).
const v2Inputs = [
  { name: 'PULocationID', shape: [2, 1], datatype: 'INT64', data: [[10], [152]] },
  { name: 'DOLocationID', shape: [2, 1], datatype: 'INT64', data: [50, 74] },
  { name: 'trip_distance', shape: [2, 1], datatype: 'FP32', data: [40, 1.64] },
  { name: 'pickup_hour', shape: [2, 1], datatype: 'FP32', data: [9.5, 17.25] },
  { name: 'pickup_dow', shape: [2, 1], datatype: 'INT64', data: [1, 5] },
];

function binaryRequest(extra: Record<string, unknown> = {}) {
  const tensors = [
    new BigInt64Array([10n, 152n]),
    new BigInt64Array([50n, 74n]),
    new Float32Array([40, 1.64]),
    new Float32Array([9.5, 17.25]),
    new BigInt64Array([1n, 5n]),
  ];
  const header = Buffer.from(
    JSON.stringify({
      inputs: v2Inputs.map(({ data: _data, ...rest }, i) => ({
        ...rest,
        parameters: { binary_data_size: tensors[i]?.byteLength },
      })),
      ...extra,
    }),
  );
  const body = Buffer.concat([header, ...tensors.map((t) => Buffer.from(t.buffer))]);
  return { header, body };
}

describe('Open Inference Protocol V2', () => {
  let t: TestApp;
  let expected: number[];
  const infer = (
    path: string,
    body: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) =>
    t.app.request(path, {
      method: 'POST',
      headers,
      body: body instanceof Buffer ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    t = await createTestApp();
    expected = (await t.scorer.score('ride-duration@2', rides)).predictions as number[];
  });
  afterAll(async () => t?.close());

  it('serves server and model metadata from the cards', async () => {
    expect(await (await t.app.request('/v2')).json()).toEqual({
      name: 'temporal-model-serving',
      version: '0.1.0',
      extensions: ['binary_tensor_data'],
    });
    expect((await t.app.request('/v2/health/live')).status).toBe(200);
    expect(await (await t.app.request('/v2/health/ready')).json()).toEqual({ ready: true });
    const meta = await t.app.request('/v2/models/ride-duration');
    expect(await meta.json()).toEqual({
      name: 'ride-duration',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'PULocationID', datatype: 'INT64', shape: [-1, 1] },
        { name: 'DOLocationID', datatype: 'INT64', shape: [-1, 1] },
        { name: 'trip_distance', datatype: 'FP32', shape: [-1, 1] },
        { name: 'pickup_hour', datatype: 'FP32', shape: [-1, 1] },
        { name: 'pickup_dow', datatype: 'INT64', shape: [-1, 1] },
      ],
      outputs: [{ name: 'duration', datatype: 'FP32', shape: [-1, 1] }],
    });
    const v1 = (await (await t.app.request('/v2/models/ride-duration/versions/1')).json()) as {
      inputs: unknown[];
    };
    expect(v1.inputs).toHaveLength(3);
    expect(await (await t.app.request('/v2/models/ride-duration/versions/1/ready')).json()).toEqual({
      name: 'ride-duration',
      version: '1',
      ready: true,
    });
  });

  it('answers 404 {"error"} for an unknown model or version', async () => {
    const model = await t.app.request('/v2/models/nope');
    expect(model.status).toBe(404);
    expect(await model.json()).toEqual({ error: 'unknown model "nope"' });
    const version = await infer('/v2/models/ride-duration/versions/7/infer', { inputs: v2Inputs });
    expect(version.status).toBe(404);
    expect(await version.json()).toEqual({
      error: 'model "ride-duration" has no version "7" (loaded: 1, 2)',
    });
  });

  it('infers JSON tensors (nested or flat data) and echoes the request id', async () => {
    const res = await infer('/v2/models/ride-duration/infer', {
      id: 'req-1',
      inputs: v2Inputs,
      parameters: { x: 1 },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      model_name: 'ride-duration',
      model_version: '2',
      id: 'req-1',
      outputs: [{ name: 'duration', datatype: 'FP32', shape: [2, 1], data: expected }],
    });
  });

  it('infers binary tensors and returns binary outputs (Inference-Header-Content-Length)', async () => {
    const { header, body } = binaryRequest({
      outputs: [{ name: 'duration', parameters: { binary_data: true } }],
    });
    const res = await infer('/v2/models/ride-duration/versions/2/infer', body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    expect(JSON.parse(bytes.subarray(0, jsonLength).toString())).toEqual({
      model_name: 'ride-duration',
      model_version: '2',
      outputs: [{ name: 'duration', datatype: 'FP32', shape: [2, 1], parameters: { binary_data_size: 8 } }],
    });
    const out = new Float32Array(bytes.subarray(jsonLength).buffer.slice(bytes.byteOffset + jsonLength));
    expect(Array.from(out)).toEqual(expected);
  });

  it('returns binary outputs for binary_data_output without outputs, JSON when the output says binary_data=false', async () => {
    const { header, body } = binaryRequest({ parameters: { binary_data_output: true } });
    const res = await infer('/v2/models/ride-duration/infer', body, {
      'inference-header-content-length': String(header.length),
    });
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const json = binaryRequest({
      parameters: { binary_data_output: true },
      outputs: [{ name: 'duration', parameters: { binary_data: false } }],
    });
    const res2 = await infer('/v2/models/ride-duration/infer', json.body, {
      'inference-header-content-length': String(json.header.length),
    });
    expect(((await res2.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual(expected);
  });

  it('names the input and the problem in 400 {"error"} answers', async () => {
    const cases: [unknown, string][] = [
      [
        { inputs: v2Inputs.slice(0, 4) },
        'missing input "pickup_dow"; ride-duration@2 expects PULocationID (INT64 [-1, 1]), DOLocationID (INT64 [-1, 1]), trip_distance (FP32 [-1, 1]), pickup_hour (FP32 [-1, 1]), pickup_dow (INT64 [-1, 1])',
      ],
      [
        { inputs: [...v2Inputs, { name: 'tip', shape: [2, 1], datatype: 'FP32', data: [1, 2] }] },
        'unexpected input "tip"; ride-duration@2 expects PULocationID (INT64 [-1, 1]), DOLocationID (INT64 [-1, 1]), trip_distance (FP32 [-1, 1]), pickup_hour (FP32 [-1, 1]), pickup_dow (INT64 [-1, 1])',
      ],
      [
        { inputs: v2Inputs.map((i) => (i.name === 'trip_distance' ? { ...i, datatype: 'FP64' } : i)) },
        'input "trip_distance": datatype FP64 does not match the model\'s FP32',
      ],
      [
        { inputs: v2Inputs.map((i) => (i.name === 'PULocationID' ? { ...i, shape: [2] } : i)) },
        'input "PULocationID": shape [2] does not match the model\'s [-1, 1] (use [N, 1], N >= 1)',
      ],
      [
        { inputs: v2Inputs.map((i) => (i.name === 'DOLocationID' ? { ...i, data: [50] } : i)) },
        'input "DOLocationID": shape [2, 1] needs 2 values, data holds 1',
      ],
      [
        { inputs: v2Inputs.map((i) => (i.name === 'pickup_dow' ? { ...i, data: [1, 2.5] } : i)) },
        'input "pickup_dow": data[1] must be an integer for INT64 (got 2.5)',
      ],
      [
        {
          inputs: v2Inputs.map((i) =>
            i.name === 'pickup_dow' ? { ...i, shape: [3, 1], data: [1, 2, 3] } : i,
          ),
        },
        'input "pickup_dow" has 3 rows but "PULocationID" has 2',
      ],
      [{ inputs: [] }, 'inputs: must name at least one input'],
      [
        { inputs: v2Inputs, outputs: [{ name: 'tip' }] },
        'unknown output "tip"; ride-duration@2 outputs duration',
      ],
    ];
    for (const [body, error] of cases) {
      const res = await infer('/v2/models/ride-duration/infer', body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error });
    }
  });

  it('checks binary sizes against shapes and the body', async () => {
    const { header, body } = binaryRequest();
    const short = await infer('/v2/models/ride-duration/infer', body.subarray(0, body.length - 8), {
      'inference-header-content-length': String(header.length),
    });
    expect(await short.json()).toEqual({
      error: 'input "pickup_dow": binary data ends at byte 56 of the binary section, 64 needed',
    });
    const noHeader = await infer('/v2/models/ride-duration/infer', body, {
      'content-type': 'application/octet-stream',
    });
    expect(noHeader.status).toBe(400);
    expect(((await noHeader.json()) as { error: string }).error).toMatch(
      /^request JSON is malformed .*; binary tensors need the Inference-Header-Content-Length header$/,
    );
    const wrong = JSON.parse(header.toString()) as { inputs: { parameters: { binary_data_size: number } }[] };
    const first = wrong.inputs[0];
    if (first) first.parameters.binary_data_size = 12;
    const h2 = Buffer.from(JSON.stringify(wrong));
    const res = await infer(
      '/v2/models/ride-duration/infer',
      Buffer.concat([h2, body.subarray(header.length)]),
      {
        'inference-header-content-length': String(h2.length),
      },
    );
    expect(await res.json()).toEqual({
      error: 'input "PULocationID": binary_data_size is 12 but shape [2, 1] of INT64 needs 16 bytes',
    });
  });
});

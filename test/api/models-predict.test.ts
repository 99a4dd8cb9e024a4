/**
 * Any model online, on the real app: the classifier (string inputs, nullable numbers, ZipMap stripped at load)
 * through POST /models/{name}/predict and V2 (BYTES in JSON and in the binary extension), exact 400 bodies naming
 * the field, GET /deployments, and the ride models through the same generic route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_API_KEY, type TestApp } from '../helpers.js';

const adelie = {
  island: 'Torgersen',
  bill_length_mm: 39.1,
  bill_depth_mm: 18.7,
  flipper_length_mm: 181,
  body_mass_g: 3750,
  sex: 'male',
  year: 2007,
};
const gentoo = {
  ...adelie,
  island: 'Biscoe',
  bill_length_mm: 46.1,
  bill_depth_mm: 13.2,
  flipper_length_mm: 211,
  body_mass_g: 4500,
  sex: 'female',
};
const CLASSES = ['Adelie', 'Chinstrap', 'Gentoo'];

describe('POST /models/{name}/predict and V2 for any model', () => {
  let t: TestApp;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    t.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: body instanceof Buffer ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('answers one record with the label and every class probability, from the newest version as production', async () => {
    const res = await post('/models/penguin-species/predict', adelie);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      model_name: string;
      model_version: string;
      prediction: { label: string; probabilities: Record<string, number> };
    };
    expect(body.model_name).toBe('penguin-species');
    expect(body.model_version).toBe('1');
    expect(body.prediction.label).toBe('Adelie');
    expect(Object.keys(body.prediction.probabilities)).toEqual(CLASSES);
    const sum = Object.values(body.prediction.probabilities).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
    expect(body.prediction.probabilities.Adelie).toBeGreaterThan(0.9);
  });

  it('takes a list: nulls of nullable fields and a missing defaulted field are scored, bad records named', async () => {
    const res = await post('/models/penguin-species/predict', [
      adelie,
      { island: 'Dream', year: 2009, bill_length_mm: null },
      { ...adelie, island: 'Mars' },
      gentoo,
      'not a record',
    ]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      scored: number;
      rejected: number;
      predictions: Record<string, unknown>[];
    };
    expect(body.scored).toBe(3);
    expect(body.rejected).toBe(2);
    expect(body.predictions[0]).toMatchObject({ prediction: { label: 'Adelie' } });
    expect(body.predictions[1]).toMatchObject({ prediction: { label: expect.any(String) as unknown } });
    expect(body.predictions[2]).toEqual({
      error: { field: 'island', message: 'must be one of "Biscoe", "Dream", "Torgersen" (got "Mars")' },
    });
    expect(body.predictions[3]).toMatchObject({ prediction: { label: 'Gentoo' } });
    expect(body.predictions[4]).toEqual({ error: { field: 'row', message: 'must be an object' } });
  });

  it('answers 400 problem+json naming the field for one bad record', async () => {
    const res = await post('/models/penguin-species/predict', { ...adelie, year: 1999 });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      status: 400,
      errors: [{ field: 'year', message: 'must be an integer from 2000 to 2100 (got 1999)' }],
    });
    const missing = await post('/models/penguin-species/predict', { ...adelie, island: undefined });
    expect(await missing.json()).toMatchObject({
      errors: [{ field: 'island', message: 'is required by this model' }],
    });
  });

  it('404 names what exists for an unknown model or version; the route needs no API key', async () => {
    const unknown = await post('/models/no-such-model/predict', adelie);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { detail: string }).detail).toContain('unknown model "no-such-model"');
    const version = await post('/models/penguin-species/predict?version=9', adelie);
    expect(version.status).toBe(404);
  });

  it('serves a regression model through the same route, equal to the course route', async () => {
    const ride = {
      PULocationID: 10,
      DOLocationID: 50,
      trip_distance: 40,
      pickup_datetime: '2021-02-02T09:30:00',
    };
    const generic = (await (await post('/models/ride-duration/predict', ride)).json()) as {
      prediction: { duration: number };
    };
    const course = (await (await post('/predict', ride)).json()) as { duration: number };
    expect(generic.prediction.duration).toBe(course.duration);
  });

  it('V2 metadata lists BYTES inputs and the served outputs after the ZipMap', async () => {
    const meta = (await (await t.app.request('/v2/models/penguin-species')).json()) as {
      inputs: { name: string; datatype: string; shape: number[] }[];
      outputs: { name: string; datatype: string; shape: number[] }[];
    };
    expect(meta.inputs.map((i) => `${i.name}:${i.datatype}`)).toEqual([
      'island:BYTES',
      'bill_length_mm:FP32',
      'bill_depth_mm:FP32',
      'flipper_length_mm:FP32',
      'body_mass_g:FP32',
      'sex:BYTES',
      'year:INT64',
    ]);
    expect(meta.outputs).toEqual([
      { name: 'output_label', datatype: 'BYTES', shape: [-1] },
      { name: 'output_probability', datatype: 'FP32', shape: [-1, 3] },
    ]);
  });

  const records = [adelie, gentoo];
  const column = (name: keyof typeof adelie) => records.map((r) => r[name]);
  const jsonInputs = [
    { name: 'island', shape: [2, 1], datatype: 'BYTES', data: column('island') },
    ...(['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'] as const).map((name) => ({
      name,
      shape: [2, 1],
      datatype: 'FP32',
      data: column(name),
    })),
    { name: 'sex', shape: [2, 1], datatype: 'BYTES', data: column('sex') },
    { name: 'year', shape: [2, 1], datatype: 'INT64', data: column('year') },
  ];

  it('V2 JSON: BYTES inputs in, labels as BYTES and probabilities as FP32 [N, 3] out', async () => {
    const res = await post('/v2/models/penguin-species/infer', { id: 'p-1', inputs: jsonInputs });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      id: string;
      outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
    };
    expect(body.id).toBe('p-1');
    expect(body.outputs[0]).toEqual({
      name: 'output_label',
      datatype: 'BYTES',
      shape: [2],
      data: ['Adelie', 'Gentoo'],
    });
    expect(body.outputs[1]).toMatchObject({ name: 'output_probability', datatype: 'FP32', shape: [2, 3] });
    expect(body.outputs[1]?.data).toHaveLength(6);
  });

  it('V2 binary: length-prefixed BYTES in the binary section both ways', async () => {
    const bytes = (values: string[]) =>
      Buffer.concat(
        values.map((v) => {
          const b = Buffer.from(v, 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32LE(b.length);
          return Buffer.concat([len, b]);
        }),
      );
    const tensors: Buffer[] = jsonInputs.map((i) =>
      i.datatype === 'BYTES'
        ? bytes(i.data as string[])
        : i.datatype === 'INT64'
          ? Buffer.from(new BigInt64Array((i.data as number[]).map(BigInt)).buffer)
          : Buffer.from(new Float32Array(i.data as number[]).buffer),
    );
    const header = Buffer.from(
      JSON.stringify({
        inputs: jsonInputs.map(({ data: _data, ...rest }, i) => ({
          ...rest,
          parameters: { binary_data_size: tensors[i]?.length },
        })),
        outputs: [
          { name: 'output_label', parameters: { binary_data: true } },
          { name: 'output_probability', parameters: { binary_data: true } },
        ],
      }),
    );
    const res = await post('/v2/models/penguin-species/infer', Buffer.concat([header, ...tensors]), {
      'content-type': 'application/octet-stream',
      'Inference-Header-Content-Length': String(header.length),
    });
    expect(res.status).toBe(200);
    const raw = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const answer = JSON.parse(raw.subarray(0, headerLength).toString()) as {
      outputs: { name: string; datatype: string; parameters: { binary_data_size: number } }[];
    };
    const labelSize = answer.outputs[0]?.parameters.binary_data_size ?? 0;
    const labels = raw.subarray(headerLength, headerLength + labelSize);
    const read: string[] = [];
    for (let at = 0; at < labels.length;) {
      const len = labels.readUInt32LE(at);
      read.push(labels.subarray(at + 4, at + 4 + len).toString());
      at += 4 + len;
    }
    expect(read).toEqual(['Adelie', 'Gentoo']);
    expect(answer.outputs[1]?.parameters.binary_data_size).toBe(2 * 3 * 4);
  });

  it('V2 names the input for a wrong BYTES element and a cut-short binary section', async () => {
    const wrong = await post('/v2/models/penguin-species/infer', {
      inputs: jsonInputs.map((i) => (i.name === 'island' ? { ...i, data: ['Biscoe', 7] } : i)),
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({
      error: 'input "island": data[1] must be a string for BYTES (got 7)',
    });
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'island', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: 9 } }],
      }),
    );
    const cut = await post(
      '/v2/models/penguin-species/infer',
      Buffer.concat([header, Buffer.from([6, 0, 0, 0, 66, 105, 115])]),
      {
        'content-type': 'application/octet-stream',
        'Inference-Header-Content-Length': String(header.length),
      },
    );
    expect(cut.status).toBe(400);
    expect(((await cut.json()) as { error: string }).error).toContain('input "island"');
  });

  it('V2 answers 400 for deeply nested data instead of overflowing the stack', async () => {
    const deep = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    const body = `{"inputs": [{"name": "year", "shape": [1, 1], "datatype": "INT64", "data": ${deep}}]}`;
    const res = await t.app.request('/v2/models/penguin-species/infer', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('missing input');
  });

  it('GET /deployments lists both example deployments with their modes (API key required)', async () => {
    expect((await t.app.request('/deployments')).status).toBe(401);
    const res = await t.app.request('/deployments', { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    expect(res.status).toBe(200);
    const { deployments } = (await res.json()) as {
      deployments: { name: string; model: string; status: string; modes: string[] }[];
    };
    expect(deployments.map((d) => [d.name, d.model, d.status])).toEqual([
      ['penguin-species', 'penguin-species@production', 'ready'],
      ['ride-duration', 'ride-duration@production', 'ready'],
    ]);
    expect(deployments[0]?.modes).toEqual(['online', 'batch', 'streaming']);
  });
});

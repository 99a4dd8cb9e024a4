/** Record validation and feature rules: rejections name the field, valid rows in the same call are still scored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldRecord } from '../contracts/scoring.js';
import { createTestScorer } from '../test/helpers.js';
import { buildFeatures, compileRule, type FeatureRule } from './features.js';
import { cardProblems, type FieldSpec, type InputSpec } from './model-card.js';
import { compileSignature } from './signature.js';
import { dayOfWeek, parseTimestamp } from './timestamp.js';
import type { ModelScorer } from './scorer.js';

const ok: FieldRecord = {
  PULocationID: 74,
  DOLocationID: 75,
  trip_distance: 1.5,
  pickup_datetime: '2021-02-02T09:00:30',
};

describe('timestamps in a declared time zone', () => {
  const NY = 'America/New_York';
  it.each([
    ['2021-02-02T09:00:30', 9, 0, 1],
    ['2021-02-07T23:59:59.999', 23, 59, 6],
    ['2021-02-01T00:00:00', 0, 0, 0],
    ['2021-02-02T14:00:30Z', 9, 0, 1], // EST, UTC-5
    ['2021-07-04T03:30:00Z', 23, 30, 5], // EDT, UTC-4: Saturday 23:30 local
    ['2021-02-02T09:00:30+01:00', 3, 0, 1],
    ['2021-02-02T09:45:00-0500', 9, 45, 1],
  ])('%s -> %d:%d, day of week %d in New York', (text, hour, minute, dow) => {
    const t = parseTimestamp(text, NY);
    if (typeof t === 'string') throw new Error(t);
    expect([t.hour, t.minute, dayOfWeek(t.year, t.month, t.day)]).toEqual([hour, minute, dow]);
  });

  it('a UTC field reads an offset as that instant in UTC', () => {
    expect(parseTimestamp('2021-07-04T03:30:00+02:00', 'UTC')).toMatchObject({ day: 4, hour: 1, minute: 30 });
  });

  it.each([
    '2021-02-30T00:00:00',
    '2021-02-02T24:00:00',
    '2021-02-02 09:00:00',
    '2021-02-02',
    'yesterday',
    '2021-13-01T00:00:00',
  ])('rejects %s', (text) => {
    expect(typeof parseTimestamp(text, NY)).toBe('string');
  });
});

describe('feature rules', () => {
  const fields: FieldSpec[] = [
    { name: 'zone', type: 'integer', min: 1, max: 999 },
    { name: 'miles', type: 'number', min: 0 },
    { name: 'at', type: 'timestamp', time_zone: 'America/New_York' },
    { name: 'kind', type: 'string', allowed: ['a', 'b'], nullable: true, default: 'a' },
    { name: 'flag', type: 'boolean', nullable: true, default: false },
    { name: 'weight', type: 'number', nullable: true },
  ];
  const inputs: InputSpec[] = [
    { name: 'zone', dtype: 'int64', shape: [-1, 1], from: 'zone' },
    { name: 'miles', dtype: 'float32', shape: [-1, 1], from: 'miles' },
    { name: 'hour', dtype: 'float32', shape: [-1, 1], from: 'at', part: 'fractional_hour' },
    { name: 'dow', dtype: 'int64', shape: [-1, 1], from: 'at', part: 'day_of_week' },
    { name: 'doy', dtype: 'int32', shape: [-1, 1], from: 'at', part: 'day_of_year' },
    { name: 'kind', dtype: 'string', shape: [-1, 1], from: 'kind' },
    { name: 'flag', dtype: 'bool', shape: [-1, 1], from: 'flag' },
    { name: 'pair', dtype: 'float64', shape: [-1, 2], from: ['miles', 'weight'] },
  ];
  const rules = inputs.map((i) => compileRule(i, fields) as FeatureRule);

  it('casts, takes timestamp parts and fills defaults for valid rows only, row-major for wide inputs', () => {
    const rows = [
      { zone: 74, miles: 1.5, at: '2021-02-02T09:00:30', kind: 'b', flag: true, weight: 2 },
      { zone: 0, miles: 1, at: '2021-02-02T09:00:30' },
      { zone: 3, miles: 0.1, at: '2021-02-07T18:20:00', kind: null },
    ];
    const prepared = compileSignature(fields).prepare(rows);
    expect(prepared.count).toBe(2);
    expect(prepared.rejections).toEqual([
      { index: 1, field: 'zone', reason: 'must be an integer from 1 to 999 (got 0)' },
    ]);
    const f = buildFeatures(prepared, rules, 0, 2);
    expect(f.get('zone')).toEqual(new BigInt64Array([74n, 3n]));
    expect(f.get('miles')).toEqual(new Float32Array([1.5, 0.1]));
    expect(f.get('hour')).toEqual(new Float32Array([9, 18 + 20 / 60]));
    expect(f.get('dow')).toEqual(new BigInt64Array([1n, 6n]));
    expect(f.get('doy')).toEqual(new Int32Array([33, 38]));
    expect(f.get('kind')).toEqual(['b', 'a']);
    expect(f.get('flag')).toEqual(new Uint8Array([1, 0]));
    expect(f.get('pair')).toEqual(new Float64Array([1.5, 2, 0.1, NaN]));
  });

  it('a "now" default is read once per call, in the field\'s zone', () => {
    const at = Date.UTC(2021, 6, 4, 3, 30);
    const signature = compileSignature(
      [{ name: 'at', type: 'timestamp', time_zone: 'America/New_York', default: 'now' }],
      {
        now: () => at,
      },
    );
    const prepared = signature.prepare([{}, {}]);
    const hour = buildFeatures(
      prepared,
      [
        compileRule(inputs[2] as InputSpec, [
          { name: 'at', type: 'timestamp', time_zone: 'America/New_York' },
        ]) as FeatureRule,
      ],
      0,
      2,
    );
    expect(hour.get('hour')).toEqual(new Float32Array([23.5, 23.5]));
  });

  it.each([
    [
      { name: 'x', dtype: 'int64', shape: [-1, 1], from: 'miles' },
      'input "x" is int64 but field "miles" is number',
    ],
    [
      { name: 'x', dtype: 'float32', shape: [-1, 1], from: 'nope' },
      'reads field "nope", which the signature does not declare',
    ],
    [
      { name: 'x', dtype: 'float32', shape: [-1, 1], from: 'miles', part: 'hour' },
      'which is number, not timestamp',
    ],
    [
      { name: 'x', dtype: 'string', shape: [-1, 1], from: 'at', part: 'hour' },
      'a timestamp part is a number',
    ],
    [{ name: 'x', dtype: 'float32', shape: [-1, 1], from: 'at' }, 'a timestamp needs a "part"'],
  ] as const)('refuses a rule that cannot work: %o', (input, message) => {
    expect(compileRule(input as unknown as InputSpec, fields)).toContain(message);
  });

  it('refuses an int32 input from an unbounded integer, and a part of a nullable timestamp without a default', () => {
    const unbounded: FieldSpec[] = [{ name: 'n', type: 'integer' }];
    expect(compileRule({ name: 'n', dtype: 'int32', shape: [-1, 1], from: 'n' }, unbounded)).toContain(
      'give the field min/max within -2147483648..2147483647',
    );
    const bounded: FieldSpec[] = [{ name: 'n', type: 'integer', min: 0, max: 100 }];
    expect(typeof compileRule({ name: 'n', dtype: 'int32', shape: [-1, 1], from: 'n' }, bounded)).toBe(
      'object',
    );
    const when: FieldSpec[] = [{ name: 't', type: 'timestamp', nullable: true }];
    expect(
      compileRule({ name: 'h', dtype: 'float32', shape: [-1, 1], from: 't', part: 'hour' }, when),
    ).toContain('nullable timestamp without a default');
  });

  it('refuses a default that is not a value of its field', () => {
    const card = (field: Record<string, unknown>) =>
      cardProblems({
        name: 'm',
        version: '1',
        task: 'outputs',
        sha256: 'a'.repeat(64),
        signature: { fields: [{ name: 'x', ...field }] },
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1], from: 'x' }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
      });
    expect(card({ type: 'integer', default: 2.5 })).toEqual([
      'signature.fields.0.default: must be an integer (got 2.5)',
    ]);
    expect(card({ type: 'number', max: 10, default: 999 })).toEqual([
      "signature.fields.0.default: must be within the field's min/max (got 999)",
    ]);
    expect(card({ type: 'boolean', default: 'true' })).toEqual([
      'signature.fields.0.default: must be true or false (got "true")',
    ]);
    expect(card({ type: 'timestamp', default: 'yesterday' })).toEqual([
      'signature.fields.0.default: must be "now" or a timestamp YYYY-MM-DDTHH:MM:SS (got "yesterday")',
    ]);
    expect(card({ type: 'string', default: 'unknown', allowed: ['a'] })).toEqual([]);
    expect(card({ type: 'integer', allowed: ['1', '2'] })).toEqual([
      'signature.fields.0.allowed: values must all be integers, as the field is',
    ]);
  });

  it('a field named like an Object member is read from the record only', () => {
    const prepared = compileSignature([{ name: 'constructor', type: 'number' }]).prepare([
      {},
      { constructor: 2 },
    ]);
    expect(prepared.rejections).toEqual([
      { index: 0, field: 'constructor', reason: 'must be a finite number (got nothing)' },
    ]);
    expect(prepared.count).toBe(1);
  });

  it('refuses a nullable field without a default feeding a non-float input', () => {
    const nullable: FieldSpec[] = [{ name: 'n', type: 'integer', nullable: true }];
    expect(compileRule({ name: 'n', dtype: 'int64', shape: [-1, 1], from: 'n' }, nullable)).toContain(
      'give the field a "default"',
    );
  });
});

describe('validation through the scorer', () => {
  let scorer: ModelScorer;
  beforeAll(async () => {
    scorer = await createTestScorer();
  });
  afterAll(async () => {
    await scorer?.close();
  });

  it('rejects each bad field by name and still scores the valid rows of the call', async () => {
    const rows = [
      ok,
      { ...ok, PULocationID: 0 },
      { ...ok, PULocationID: 12.5 },
      { ...ok, DOLocationID: -3 },
      { ...ok, DOLocationID: 1000 },
      { ...ok, PULocationID: '74' },
      { ...ok, trip_distance: -0.1 },
      { ...ok, trip_distance: Number.NaN },
      { ...ok, trip_distance: 1001 },
      { ...ok, pickup_datetime: undefined },
      { ...ok, pickup_datetime: '2021-02-30T10:00:00' },
      null,
      { ...ok, DOLocationID: 999, PULocationID: 1 },
      { ...ok, trip_distance: 3n },
      { ...ok, trip_distance: Number.POSITIVE_INFINITY },
    ] as unknown as FieldRecord[];
    const out = await scorer.score('ride-duration@2', rows);
    expect(out.rejections.map((r) => [r.index, r.field])).toEqual([
      [1, 'PULocationID'],
      [2, 'PULocationID'],
      [3, 'DOLocationID'],
      [4, 'DOLocationID'],
      [5, 'PULocationID'],
      [6, 'trip_distance'],
      [7, 'trip_distance'],
      [8, 'trip_distance'],
      [9, 'pickup_datetime'],
      [10, 'pickup_datetime'],
      [11, 'row'],
      [13, 'trip_distance'],
      [14, 'trip_distance'],
    ]);
    expect(out.rejections[0]).toEqual({
      index: 1,
      field: 'PULocationID',
      reason: 'must be an integer from 1 to 999 (got 0)',
    });
    expect(out.rejections[8]?.reason).toBe('is required by this model (YYYY-MM-DDTHH:MM:SS)');
    expect(out.rejections[9]?.reason).toBe('is not a valid calendar date (got "2021-02-30T10:00:00")');
    expect(out.rejections[11]?.reason).toBe('must be a finite number of miles from 0 to 1000 (got 3n)');
    expect(out.rejections[12]?.reason).toBe('must be a finite number of miles from 0 to 1000 (got Infinity)');
    expect(out.predictions.map((p) => p !== null)).toEqual([
      true,
      ...Array<boolean>(11).fill(false),
      true,
      false,
      false,
    ]);
    const alone = await scorer.score('ride-duration@2', [ok]);
    expect(out.predictions[0]).toBe(alone.predictions[0]);
    expect(out.predictions[0]).toBeGreaterThan(1);
  });

  it('version 1 does not need the pickup time', async () => {
    const out = await scorer.score('ride-duration@1', [
      { PULocationID: 74, DOLocationID: 75, trip_distance: 1.5 },
    ]);
    expect(out.rejections).toEqual([]);
    expect(out.predictions[0]).toBeGreaterThan(1);
  });

  it('an empty call returns no predictions', async () => {
    expect(await scorer.score('ride-duration@2', [])).toMatchObject({
      model: { name: 'ride-duration', version: '2' },
      predictions: [],
      rejections: [],
    });
  });
});

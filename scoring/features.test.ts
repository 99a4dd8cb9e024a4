/** Row validation and feature rules: rejections name the field, valid rows in the same call are still scored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RideInput } from '../contracts/scoring.js';
import { createTestScorer } from '../test/helpers.js';
import { buildFeatures, prepareRows } from './features.js';
import { parsePickup } from './pickup-time.js';
import type { ModelScorer } from './scorer.js';

const ok: RideInput = {
  PULocationID: 74,
  DOLocationID: 75,
  trip_distance: 1.5,
  pickup_datetime: '2021-02-02T09:00:30',
};

describe('pickup time', () => {
  it.each([
    ['2021-02-02T09:00:30', 9, 1],
    ['2021-02-07T23:59:59.999', 23 + 59 / 60, 6],
    ['2021-02-01T00:00:00', 0, 0],
    ['2021-02-02T14:00:30Z', 9, 1], // EST, UTC-5
    ['2021-07-04T03:30:00Z', 23.5, 5], // EDT, UTC-4: Saturday 23:30 local
    ['2021-02-02T09:00:30+01:00', 3, 1],
    ['2021-02-02T09:45:00-0500', 9.75, 1],
  ])('%s -> hour %d, dow %d', (text, hour, dow) => {
    expect(parsePickup(text)).toEqual({ hour, dow });
  });

  it.each([
    '2021-02-30T00:00:00',
    '2021-02-02T24:00:00',
    '2021-02-02 09:00:00',
    '2021-02-02',
    'yesterday',
    '2021-13-01T00:00:00',
  ])('rejects %s', (text) => {
    expect(typeof parsePickup(text)).toBe('string');
  });
});

describe('feature arrays', () => {
  it('builds int64 ids, float32 distance/hour and int64 weekday for valid rows only', () => {
    const rows: RideInput[] = [
      ok,
      { ...ok, PULocationID: 0 },
      { ...ok, trip_distance: 0.1, pickup_datetime: '2021-02-07T18:20:00' },
    ];
    const prepared = prepareRows(rows, true);
    expect(prepared.count).toBe(2);
    const f = buildFeatures(
      rows,
      prepared,
      ['PULocationID', 'trip_distance', 'pickup_hour', 'pickup_dow'],
      0,
      2,
    );
    expect(f.get('PULocationID')).toEqual(new BigInt64Array([74n, 74n]));
    expect(f.get('trip_distance')).toEqual(new Float32Array([1.5, 0.1]));
    expect(f.get('pickup_hour')).toEqual(new Float32Array([9, 18 + 20 / 60]));
    expect(f.get('pickup_dow')).toEqual(new BigInt64Array([1n, 6n]));
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
    ] as unknown as RideInput[];
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
    expect(await scorer.score('ride-duration@2', [])).toEqual({
      model: { name: 'ride-duration', version: '2' },
      predictions: [],
      rejections: [],
    });
  });
});

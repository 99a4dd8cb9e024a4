/**
 * The labelled rows retraining evaluates on (db/queries/retraining.ts), on real Postgres: a label joined to the
 * online call it labels gives back that call's features as logged (the log keeps them as json), a label of a batch
 * source row gives the source row, and one key in both comes from the batch source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictionLog } from '../../api/prediction-log.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.js';
import { upsertLabels } from './labels.js';
import { labelledRows } from './retraining.js';

const D = 'ride-duration';
const features = (km: number) => ({
  PULocationID: 43,
  DOLocationID: 151,
  trip_distance: km,
  note: 'a\tb "q"',
});

describe('labelledRows', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query('CREATE TABLE src (ride_id text PRIMARY KEY, trip_distance float8)');
    await db.pool.query("INSERT INTO src VALUES ('both', 9.5), ('batch-only', 7.25)");
  });
  afterAll(async () => db?.drop());

  it('joins labels to logged online calls and to batch source rows, the source first', async () => {
    const log = createPredictionLog({ pool: db.pool });
    const at = new Date();
    for (const [key, km] of [
      ['online-only', 2.5],
      ['both', 3.5],
    ] as const)
      log.record([
        {
          requestId: key,
          rowIndex: 0,
          route: '/predict',
          model: D,
          version: '2',
          features: features(km),
          prediction: 11,
          latencyMs: 1,
          createdAt: at,
          deployment: D,
          role: 'champion',
          recordKey: key,
        },
      ]);
    await log.close();
    expect(log.written()).toBe(2);
    await upsertLabels(
      db.pool,
      D,
      ['online-only', 'both', 'batch-only', 'unknown'].map((key) => ({ key, label: 12 })),
      'api',
    );

    const rows = await labelledRows(db.pool, {
      deployment: D,
      from: new Date(Date.now() - 60_000).toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
      limit: 10,
      source: { table: 'src', key: 'ride_id' },
    });
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
    expect(Object.keys(byKey).sort()).toEqual(['batch-only', 'both', 'online-only']);
    expect(byKey['online-only']).toMatchObject({ from: 'online', label: 12, row: features(2.5) });
    expect(byKey.both).toMatchObject({ from: 'batch', row: { ride_id: 'both', trip_distance: 9.5 } });
    expect(byKey['batch-only']).toMatchObject({ from: 'batch', row: { trip_distance: 7.25 } });
  });
});

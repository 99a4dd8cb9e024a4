/**
 * The online prediction log on real Postgres: values COPY treats specially come back as they were sent, text and
 * JSON Postgres cannot store (NUL, a lone surrogate) are kept with U+FFFD instead of stopping the log, a row that
 * Postgres refuses is set apart and dropped while every other row of its batch is written once, and rows recorded
 * while the database cannot be reached are written when it can again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../db/pool.js';
import { createTestDatabase, databaseUrl, type TestDatabase } from '../test/helpers.js';
import { createPredictionLog, type PredictionRecord } from './prediction-log.js';

const row = (requestId: string, over: Partial<PredictionRecord> = {}): PredictionRecord => ({
  requestId,
  rowIndex: 0,
  route: '/predict',
  model: 'ride-duration',
  version: '2',
  features: { PULocationID: 43, DOLocationID: 151, trip_distance: 2.5 },
  prediction: 12.5,
  latencyMs: 1.25,
  createdAt: new Date('2026-12-03T08:00:00.123Z'),
  ...over,
});

interface Stored {
  request_id: string;
  row_index: number;
  features: Record<string, unknown>;
  prediction: number | null;
  output: unknown;
  role: string;
  error: string | null;
  champion_output: unknown;
  diff: number | null;
  record_key: string | null;
  deployment: string | null;
  created_at: Date;
}

describe('prediction log', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const stored = async (prefix: string) =>
    (
      await db.pool.query<Stored>(
        `SELECT request_id, row_index, features, prediction, output, role, error, champion_output, diff, record_key,
                deployment, created_at
           FROM online_predictions WHERE request_id LIKE $1 ORDER BY request_id, row_index`,
        [`${prefix}%`],
      )
    ).rows;

  it('stores tabs, newlines, backslashes and quotes as sent, and every column of a shadow row', async () => {
    const log = createPredictionLog({ pool: db.pool });
    const tricky = 'a\tb\nc\\d\re "q" \\N';
    const features = { note: tricky, path: 'C:\\temp\\new', nested: { list: [1, 'x\ty'] } };
    const shadow = {
      deployment: 'ride-duration',
      prediction: null,
      output: { label: 'Adelie', probabilities: { Adelie: 0.9, Gentoo: 0.1 } },
      diff: 1,
    };
    log.record([
      row('esc-1', {
        features,
        error: `failed: ${tricky}`,
        recordKey: tricky,
      }),
      row('esc-2', {
        rowIndex: 3,
        role: 'shadow',
        ...shadow,
        championOutput: { label: 'Gentoo' },
      }),
    ]);
    await log.close();
    expect(log.written()).toBe(2);
    const [one, two] = await stored('esc-');
    expect(one).toMatchObject({
      features,
      error: `failed: ${tricky}`,
      record_key: tricky,
      role: 'champion',
      prediction: 12.5,
      output: null,
      deployment: null,
    });
    expect(one?.created_at.toISOString()).toBe('2026-12-03T08:00:00.123Z');
    expect(two).toMatchObject({
      row_index: 3,
      role: 'shadow',
      ...shadow,
      champion_output: { label: 'Gentoo' },
    });
  });

  it('keeps a NUL or a lone surrogate as U+FFFD instead of stopping the log', async () => {
    const log = createPredictionLog({ pool: db.pool });
    log.record([
      row('nul-1', { features: { note: 'a\u0000b', lone: 'x\uD800y', pair: '😀', text: '\\u0000' } }),
      row('nul-2', { error: 'bad\u0000byte' }),
    ]);
    await log.close();
    expect({ written: log.written(), dropped: log.dropped() }).toEqual({ written: 2, dropped: 0 });
    const [one, two] = await stored('nul-');
    // A backslash followed by `u0000` is text, not an escape: it is kept as it was.
    expect(one?.features).toEqual({ note: 'a\uFFFDb', lone: 'x\uFFFDy', pair: '😀', text: '\\u0000' });
    expect(two?.error).toBe('bad\uFFFDbyte');
  });

  it('drops only the row Postgres refuses, writes the rest of its batch once, and goes on', async () => {
    const log = createPredictionLog({ pool: db.pool, batchSize: 10_000 });
    const batch = Array.from({ length: 9 }, (_, i) => row(`ref-${i}`));
    // row_index is an integer column: 2^31 is out of its range (SQLSTATE 22003), however often it is tried.
    batch.splice(4, 0, row('ref-bad', { rowIndex: 2 ** 31 }));
    log.record(batch);
    await log.flush();
    log.record([row('ref-later')]);
    await log.close();
    expect({ written: log.written(), dropped: log.dropped(), refused: log.refused() }).toEqual({
      written: 10,
      dropped: 1,
      refused: 1,
    });
    const ids = (await stored('ref-')).map((r) => r.request_id);
    expect(ids).toEqual([...Array.from({ length: 9 }, (_, i) => `ref-${i}`), 'ref-later']);
  });

  it('drops alone a row JSON cannot encode, and writes the rest of its batch', async () => {
    const log = createPredictionLog({ pool: db.pool });
    const features = { PULocationID: 43, trip_distance: 2.5 };
    const cyclic: Record<string, unknown> = { PULocationID: 1 };
    cyclic.self = cyclic;
    log.record([row('json-1', { features }), row('json-bad', { features: { big: 10n } }), row('json-2')]);
    log.record([row('json-cycle', { features: cyclic })]);
    await log.close();
    expect({ written: log.written(), dropped: log.dropped(), refused: log.refused() }).toEqual({
      written: 2,
      dropped: 2,
      refused: 2,
    });
    const rows = await stored('json-');
    expect(rows.map((r) => r.request_id)).toEqual(['json-1', 'json-2']);
    expect(rows[0]?.features).toEqual({ PULocationID: 43, trip_distance: 2.5 });
  });

  it('keeps what it could not write while the database refuses connections, and writes it once when it can', async () => {
    const admin = new pg.Client(databaseUrl('postgres'));
    await admin.connect();
    const pool = createPool(db.url, { max: 2 });
    // No background flush here: each write is the test's own call, so what is pending is what the test sees.
    const log = createPredictionLog({ pool, flushIntervalMs: 3_600_000 });
    const name = pg.escapeIdentifier(db.name);
    try {
      await pool.query('SELECT 1');
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [db.name],
      );
      log.record([row('down-1'), row('down-2')]);
      await expect(log.flush()).rejects.toThrow(/not currently accepting connections|terminat/);
      expect({ pending: log.pending(), written: log.written(), dropped: log.dropped() }).toEqual({
        pending: 2,
        written: 0,
        dropped: 0,
      });
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await log.flush();
      expect({ pending: log.pending(), written: log.written() }).toEqual({ pending: 0, written: 2 });
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
      await log.close();
      await pool.end();
    }
    expect((await stored('down-')).map((r) => r.request_id)).toEqual(['down-1', 'down-2']);
  });
});

/** Aliases in Postgres: seeded values, setAlias, cross-process propagation, and switching under load. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldRecord, ScoreOutput } from '../contracts/scoring.js';
import { createTestDatabase, createTestScorer, waitFor, type TestDatabase } from '../test/helpers.js';
import { AliasError } from './errors.js';
import type { ModelScorer } from './scorer.js';

async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rides: FieldRecord[] = Array.from({ length: 60 }, (_, i) => ({
  PULocationID: 1 + ((i * 37) % 265),
  DOLocationID: 1 + ((i * 91) % 265),
  trip_distance: (i % 17) * 0.7,
  pickup_datetime: `2021-02-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00`,
}));

describe('model aliases in Postgres', () => {
  let db: TestDatabase;
  let a: ModelScorer;
  let b: ModelScorer;

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await createTestScorer(db.pool);
    // b only learns of changes through NOTIFY: its periodic re-read is far away.
    b = await createTestScorer(db.pool, { aliasRefreshIntervalMs: 600_000 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('resolves the seeded aliases, the bare name and explicit versions', async () => {
    expect(await a.resolve('ride-duration')).toEqual({ name: 'ride-duration', version: '2' });
    expect(await a.resolve('ride-duration@production')).toEqual({ name: 'ride-duration', version: '2' });
    expect(await a.resolve('ride-duration@staging')).toEqual({ name: 'ride-duration', version: '1' });
    expect(await a.resolve('ride-duration@1')).toEqual({ name: 'ride-duration', version: '1' });
  });

  it('setAlias writes the row and reaches another scorer by NOTIFY', async () => {
    await a.setAlias('ride-duration', 'canary', '1');
    const { rows } = await db.pool.query(
      'SELECT version FROM model_aliases WHERE model_name = $1 AND alias = $2',
      ['ride-duration', 'canary'],
    );
    expect(rows).toEqual([{ version: '1' }]);
    expect(await a.resolve('ride-duration@canary')).toEqual({ name: 'ride-duration', version: '1' });
    const seen = await eventually(
      () => b.resolve('ride-duration@canary').catch(() => null),
      (v) => v?.version === '1',
    );
    expect(seen).toEqual({ name: 'ride-duration', version: '1' });
  });

  it('refuses an unloaded version or a bad alias name, leaving the table unchanged', async () => {
    await expect(a.setAlias('ride-duration', 'production', '3')).rejects.toThrow(
      new AliasError('ride-duration', 'production', 'version "3" is not loaded (loaded: 1, 2)'),
    );
    await expect(a.setAlias('ride-duration', '7', '1')).rejects.toThrow(AliasError);
    const { rows } = await db.pool.query("SELECT version FROM model_aliases WHERE alias = 'production'");
    expect(rows).toEqual([{ version: '2' }]);
  });

  it('falls back to a periodic re-read when a change comes without NOTIFY', async () => {
    const c = await createTestScorer(db.pool, { aliasRefreshIntervalMs: 100 });
    try {
      await db.pool.query("UPDATE model_aliases SET version = '2' WHERE alias = 'staging'");
      const seen = await eventually(
        () => c.resolve('ride-duration@staging'),
        (v) => v.version === '2',
      );
      expect(seen.version).toBe('2');
    } finally {
      await db.pool.query("UPDATE model_aliases SET version = '1' WHERE alias = 'staging'");
      await c.close();
    }
  });

  it('reconnects its LISTEN connection after the server drops it, and catches up on missed changes', async () => {
    const { rows: killed } = await db.pool.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE application_name = 'model-aliases-listener' AND datname = current_database()`,
    );
    expect(killed.length).toBe(2); // a's and b's listeners
    // Changed without NOTIFY while b is deaf: b picks it up when it reconnects (its periodic re-read is 10 min away).
    await db.pool.query(
      "INSERT INTO model_aliases (model_name, alias, version) VALUES ('ride-duration', 'missed', '2')",
    );
    const caughtUp = await eventually(
      () => b.resolve('ride-duration@missed').catch(() => null),
      (v) => v?.version === '2',
      5000,
    );
    expect(caughtUp).toEqual({ name: 'ride-duration', version: '2' });
    // And NOTIFY works again on the new connection.
    await a.setAlias('ride-duration', 'missed', '1');
    const notified = await eventually(
      () => b.resolve('ride-duration@missed'),
      (v) => v.version === '1',
    );
    expect(notified.version).toBe('1');
  });

  it('flipping production under concurrent load: no call fails, each call is scored by one version', async () => {
    const reference = {
      '1': (await a.score('ride-duration@1', rides)).predictions,
      '2': (await a.score('ride-duration@2', rides)).predictions,
    };
    expect(reference['1']).not.toEqual(reference['2']);

    // Each flip waits for a call scored since the previous flip, so flips and calls interleave; the clients keep
    // calling until the last flip is done. Every call and every flip is timed.
    const results: ScoreOutput[] = [];
    const calls: { start: number; end: number }[] = [];
    const flipCalls: { start: number; end: number }[] = [];
    let flipped = false;
    const flipper = (async () => {
      for (let flips = 0; flips < 20; flips++) {
        const seen = results.length;
        await waitFor(() => results.length > seen, {
          timeoutMs: 10_000,
          what: 'a call scored between flips',
        });
        const start = performance.now();
        await a.setAlias('ride-duration', 'production', flips % 2 === 0 ? '1' : '2');
        flipCalls.push({ start, end: performance.now() });
      }
    })().finally(() => (flipped = true));
    const client = async (scorer: ModelScorer) => {
      for (let i = 0; i < 40 || !flipped; i++) {
        const start = performance.now();
        results.push(await scorer.score('ride-duration@production', rides));
        calls.push({ start, end: performance.now() });
      }
    };
    await Promise.all([client(a), client(a), client(a), client(b), client(b), client(b), flipper]);
    expect(flipCalls).toHaveLength(20);
    // Each flip happened while calls were in flight (catches a flip that only ever lands between idle moments,
    // which would prove nothing about downtime).
    for (const flip of flipCalls)
      expect(calls.filter((c) => c.start < flip.end && c.end > flip.start).length).toBeGreaterThan(0);

    expect(results.length).toBeGreaterThanOrEqual(240);
    const versions = new Set(results.map((r) => r.model.version));
    expect([...versions].sort()).toEqual(['1', '2']);
    for (const r of results) {
      expect(r.rejections).toEqual([]);
      expect(r.predictions).toEqual(reference[r.model.version as '1' | '2']);
    }
  });
});

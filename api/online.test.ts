/**
 * The shadow lane of the online path (api/online.ts shadowHold), on the real ride model: calls within
 * SHADOW_HOLD_MS are scored as one call, each answered as if alone; a group never exceeds half of the shadow calls
 * a process keeps in flight; SHADOW_HOLD_MS=0 sends each call alone; a bad value is refused naming the variable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { scoreRows } from '../scoring/scorer.js';
import { plain, recordingScorer, threadFixtures, type ThreadFixtures } from '../test/thread-fixtures.js';
import { shadowHold } from './online.js';
import { MAX_SHADOW_IN_FLIGHT } from './routing.js';

describe('shadow hold', () => {
  let f: ThreadFixtures;
  beforeAll(async () => {
    f = await threadFixtures({ rows: 12 });
  });
  afterAll(async () => f?.release());

  /** The rows of each call the lane sent to the scorer. */
  const rowsPerCall = (calls: { rows: number }[]) => calls.map((c) => c.rows);
  const ref = () => ({ name: f.ride.name, version: f.ride.version });
  /** One valid golden ride (the fixture's last row is one the signature refuses). */
  const one = (i: number) => [f.rides[i % 12] ?? {}];

  it('scores calls within SHADOW_HOLD_MS as one, each answered as if alone', async () => {
    const { calls, score } = recordingScorer(f);
    const lane = shadowHold(score, loadConfig({ SHADOW_HOLD_MS: '30' }));
    const outs = await Promise.all([0, 1, 2, 3, 4].map((i) => lane(ref(), one(i))));
    expect(rowsPerCall(calls)).toEqual([5]);
    for (const [i, out] of outs.entries()) expect(plain(out)).toEqual(plain(await scoreRows(f.ride, one(i))));
  });

  it('sends a group once it holds half of the shadow calls a process keeps in flight', async () => {
    const { calls, score } = recordingScorer(f);
    const lane = shadowHold(score, loadConfig({ SHADOW_HOLD_MS: '1000' }));
    const half = MAX_SHADOW_IN_FLIGHT / 2;
    await Promise.all(Array.from({ length: half * 2 }, (_, i) => lane(ref(), one(i))));
    expect(rowsPerCall(calls)).toEqual([half, half]);
  });

  it('with SHADOW_HOLD_MS=0 sends each call alone, and refuses a hold out of range by name', async () => {
    const { calls, score } = recordingScorer(f);
    const lane = shadowHold(score, loadConfig({ SHADOW_HOLD_MS: '0' }));
    await Promise.all([0, 1, 2].map((i) => lane(ref(), one(i))));
    expect(rowsPerCall(calls)).toEqual([1, 1, 1]);
    expect(() => loadConfig({ SHADOW_HOLD_MS: '5000' })).toThrow(ConfigError);
    expect(() => loadConfig({ SHADOW_HOLD_MS: '5000' })).toThrow(/SHADOW_HOLD_MS/);
  });
});

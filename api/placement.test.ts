/**
 * Where a challenger scores under CHALLENGER_THREAD=auto (api/placement.ts): the policy on its own, then the API's
 * record path (api/online.ts) on real models and a real scoring thread. A cheap challenger's canary calls move to
 * the main thread after its timed runs and give the same answers there, one call in SAMPLE_EVERY still timed in the
 * thread, its shadow calls still in the thread; a slow one (test/rollouts/constant-model.ts) stays in the thread,
 * and the champion answers while its run goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { FieldRecord, ResolvedModel } from '../contracts/scoring.js';
import { createLogger } from '../logger.js';
import { createThreadScorer, type ThreadScorer } from '../scoring/score-thread.js';
import { createScorer, scoreRows, type ModelScorer } from '../scoring/scorer.js';
import { modelsWithConstant } from '../test/rollouts/constant-model.js';
import { waitFor } from '../test/helpers.js';
import { plain } from '../test/thread-fixtures.js';
import { createMetrics } from './metrics.js';
import { createOnline, type Online } from './online.js';
import { createPlacement, placementFor, SAMPLE_EVERY, TIMED_RUNS, type Placement } from './placement.js';

describe('challenger placement policy', () => {
  const REF = 'ride-duration@1';

  it('keeps a version in the thread until TIMED_RUNS runs are timed, then places it by their median', () => {
    const p = createPlacement(1000);
    for (let i = 0; i < TIMED_RUNS - 1; i++) {
      expect(p.toThread(REF)).toBe(true);
      p.timed(REF, i === 2 ? 20_000 : 400); // one run descheduled midway does not decide
    }
    expect(p.inline(REF)).toBe(false);
    p.timed(REF, 400);
    expect(p.inline(REF)).toBe(true);
  });

  it('a version whose runs are long stays in the thread', () => {
    const changes: unknown[] = [];
    const p = createPlacement(1000, (...change) => changes.push(change));
    for (let i = 0; i < TIMED_RUNS * 2; i++) p.timed(REF, i % 3 === 0 ? 400 : 1500);
    expect(p.inline(REF)).toBe(false);
    expect(p.toThread(REF)).toBe(true);
    expect(changes).toEqual([]);
  });

  it('on the main thread sends one call in SAMPLE_EVERY to the thread; once those runs are long it goes back', () => {
    const changes: unknown[] = [];
    const p = createPlacement(1000, (...change) => changes.push(change));
    for (let i = 0; i < TIMED_RUNS; i++) p.timed(REF, 100);
    expect(changes).toEqual([[REF, true, 100]]);
    const sent = Array.from({ length: SAMPLE_EVERY * 3 }, () => p.toThread(REF));
    expect(sent.filter(Boolean)).toHaveLength(3);
    expect(sent[SAMPLE_EVERY - 1]).toBe(true);
    for (let i = 0; i < TIMED_RUNS / 2 - 1; i++) p.timed(REF, 5000);
    expect(p.inline(REF)).toBe(true); // under half the window: the median is still short
    p.timed(REF, 5000);
    expect(p.inline(REF)).toBe(false);
    expect(changes).toEqual([
      [REF, true, 100],
      [REF, false, 2550],
    ]);
    expect(Array.from({ length: 5 }, () => p.toThread(REF))).toEqual([true, true, true, true, true]);
  });

  it('with a bound of 0 never leaves the thread', () => {
    const p = createPlacement(0);
    for (let i = 0; i < TIMED_RUNS * 2; i++) p.timed(REF, 1);
    expect(p.inline(REF)).toBe(false);
    expect(p.toThread(REF)).toBe(true);
  });

  it('CHALLENGER_THREAD is auto by default; on/off and their old spellings still read, anything else is refused', () => {
    expect(loadConfig({}).api.challengerThread).toBe('auto');
    expect(loadConfig({ CHALLENGER_THREAD: 'true' }).api.challengerThread).toBe('on');
    expect(loadConfig({ CHALLENGER_THREAD: '0' }).api.challengerThread).toBe('off');
    expect(() => loadConfig({ CHALLENGER_THREAD: 'sometimes' })).toThrow(/CHALLENGER_THREAD/);
    expect(() => loadConfig({ CHALLENGER_INLINE_MAX_US: '-1' })).toThrow(/CHALLENGER_INLINE_MAX_US/);
    expect(placementFor(loadConfig({}))).toBeDefined();
    expect(placementFor(loadConfig({ CHALLENGER_THREAD: 'on' }))).toBeUndefined();
  });
});

describe('challenger placement on the record path (real models, real scoring thread)', () => {
  // Generous: the ride model's run takes well under a millisecond, the slow version's far more than this.
  const MAX_RUN_US = 50_000;
  const RIDE: FieldRecord = {
    PULocationID: 43,
    DOLocationID: 151,
    trip_distance: 1.01,
    lpep_pickup_datetime: '2021-01-01T08:15:00',
  };
  let models: { dir: string; close(): Promise<void> };
  let scorer: ModelScorer;
  let thread: ThreadScorer;
  let placement: Placement;
  let online: Omit<Online, 'routing'>;
  const threadCalls = new Map<string, number>();
  const sentToThread = (ref: string) => threadCalls.get(ref) ?? 0;
  const ref = (version: string): ResolvedModel => ({ name: 'ride-duration', version });

  beforeAll(async () => {
    models = await modelsWithConstant(30, { slow: { size: 400, steps: 40 } });
    scorer = await createScorer({
      modelDir: models.dir,
      intraOpThreads: 1,
      aliases: { 'ride-duration': { production: '2' } },
    });
    const logger = createLogger({ log: { level: 'silent', format: 'json' } });
    const real = createThreadScorer({ intraOpThreads: 1, maxBatchSize: 64 }, logger);
    thread = {
      ...real,
      score(model, records, timed) {
        threadCalls.set(model.ref, sentToThread(model.ref) + 1);
        return real.score(model, records, timed);
      },
    };
    placement = createPlacement(MAX_RUN_US);
    online = createOnline(loadConfig({}), scorer, createMetrics(), {
      is: (m) => m.version === '1' || m.version === '4',
      thread,
      holdMs: 2,
      placement,
    });
  });
  afterAll(async () => {
    await thread?.close();
    await scorer?.close();
    await models?.close();
  });

  it('a cheap challenger moves to the main thread after TIMED_RUNS timed runs, with the same answers', async () => {
    const model = scorer.registry.get('ride-duration', '1');
    if (!model) throw new Error('ride-duration 1 did not load');
    const expected = plain(await scoreRows(model, [RIDE]));
    for (let i = 0; i < TIMED_RUNS; i++) {
      expect(placement.inline('ride-duration@1')).toBe(false);
      expect(plain(await online.records.score(ref('1'), [RIDE]))).toEqual(expected);
    }
    expect(sentToThread('ride-duration@1')).toBe(TIMED_RUNS);
    expect(placement.inline('ride-duration@1')).toBe(true);

    for (let i = 0; i < SAMPLE_EVERY * 2; i++)
      expect(plain(await online.records.score(ref('1'), [RIDE]))).toEqual(expected);
    // Only the sampled calls went to the thread, to be timed again.
    expect(sentToThread('ride-duration@1')).toBe(TIMED_RUNS + 2);
    expect(placement.inline('ride-duration@1')).toBe(true);

    // A shadow call adds work rather than taking a champion call's: the thread scores it all the same.
    expect(plain(await online.shadow(ref('1'), [RIDE]))).toEqual(expected);
    expect(sentToThread('ride-duration@1')).toBe(TIMED_RUNS + 3);
  });

  it('a slow challenger stays in the thread, and the champion answers while its run goes on', async () => {
    let slowDone = false;
    const slow = online.records.score(ref('4'), [RIDE]).finally(() => (slowDone = true));
    await waitFor(() => sentToThread('ride-duration@4') === 1, {
      timeoutMs: 10_000,
      what: 'the slow call to reach the thread',
    });
    for (let i = 0; i < 5; i++) {
      const out = await online.records.score(ref('2'), [RIDE]);
      expect(out.model).toEqual(ref('2'));
      expect(out.scored).toHaveLength(1);
    }
    // Five champion answers came while the slow run still held the thread.
    expect(slowDone).toBe(false);
    expect((await slow).predictions).toEqual([30]);
    expect(placement.inline('ride-duration@4')).toBe(false);
    await online.records.score(ref('4'), [RIDE]);
    expect(sentToThread('ride-duration@4')).toBe(2);
  });
});

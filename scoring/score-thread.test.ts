/**
 * The scoring thread against the main thread's scorer, on the real models: the same answers (regression and the
 * string-input classifier, rejected rows included) whether requests come one by one or all at once (coalesced in
 * the thread), a version that cannot load named in the error while the next good call still works, and close()
 * failing what is in hand instead of leaving it hanging.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import type { FieldRecord, ScoreOutput } from '../contracts/scoring.js';
import { readGolden } from './golden.js';
import { loadModel, type LoadedModel } from './load-model.js';
import { createThreadScorer, type ThreadScorer } from './score-thread.js';
import { scoreRows } from './scorer.js';

const MODEL_DIR = fileURLToPath(new URL('../models/', import.meta.url));
const logger = createLogger({ log: { level: 'silent', format: 'json' } });

const plain = (out: ScoreOutput) => ({
  model: out.model,
  predictions: out.predictions,
  scored: Array.from(out.scored),
  outputs: Object.fromEntries(
    Object.entries(out.outputs).map(([k, c]) => [k, Array.from(c.data as ArrayLike<unknown>)]),
  ),
  rejections: out.rejections,
});

describe('scoring thread', () => {
  let thread: ThreadScorer;
  let ride: LoadedModel;
  let penguin: LoadedModel;
  let rides: FieldRecord[];
  let penguins: FieldRecord[];

  beforeAll(async () => {
    thread = createThreadScorer({ intraOpThreads: 1, maxBatchSize: 64 }, logger);
    ride = await loadModel(path.join(MODEL_DIR, 'ride-duration', '2'), 'ride-duration', '2');
    penguin = await loadModel(path.join(MODEL_DIR, 'penguin-species', '1'), 'penguin-species', '1');
    rides = (await readGolden(ride.dir)).slice(0, 40);
    penguins = (await readGolden(penguin.dir)).slice(0, 40);
    // Rows the signature refuses: they come back as rejections naming the field, as on the main thread.
    rides.push({
      PULocationID: 'x',
      DOLocationID: 1,
      trip_distance: 2,
      pickup_datetime: '2021-02-01T08:00:00',
    });
    penguins.push({ island: 7 });
  });
  afterAll(async () => {
    await thread.close();
    await ride.session.release();
    await penguin.session.release();
  });

  it('answers one request as the main thread does', async () => {
    for (const [model, records] of [
      [ride, rides],
      [penguin, penguins],
    ] as const) {
      const viaThread = await thread.score(model, records);
      const onMain = await scoreRows(model, records);
      expect(plain(viaThread)).toEqual(plain(onMain));
      expect(viaThread.rejections.length).toBe(1);
    }
  });

  it('gives each of many concurrent requests its own answer (coalesced in the thread)', async () => {
    const calls = [...rides.map((r) => [ride, r] as const), ...penguins.map((r) => [penguin, r] as const)];
    const answers = await Promise.all(calls.map(([m, r]) => thread.score(m, [r])));
    for (const [i, [m, r]] of calls.entries()) {
      const answer = answers[i];
      if (!answer) throw new Error(`no answer ${i}`);
      // float32 sums differ in the last bits between batch sizes: the same answer to 1e-6, labels exactly.
      const alone = plain(await scoreRows(m, [r]));
      const got = plain(answer);
      expect({ ...got, outputs: undefined, predictions: undefined }).toEqual({
        ...alone,
        outputs: undefined,
        predictions: undefined,
      });
      for (const [name, values] of Object.entries(alone.outputs))
        values.forEach((v, j) =>
          typeof v === 'number'
            ? expect(got.outputs[name]?.[j]).toBeCloseTo(v, 6)
            : expect(got.outputs[name]?.[j]).toEqual(v),
        );
      alone.predictions.forEach((p, j) =>
        typeof p === 'number'
          ? expect(got.predictions[j]).toBeCloseTo(p, 4)
          : expect(got.predictions[j]).toBe(p),
      );
    }
    expect(thread.pending()).toBe(0);
  });

  it('names a version that cannot load, and the next good call still works', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'thread-bad-'));
    try {
      await cp(ride.dir, dir, { recursive: true });
      await writeFile(path.join(dir, 'model.onnx'), 'not a model');
      // The card says version 2: loaded as 9, the folder and the card disagree.
      const broken = { ...ride, dir, version: '9' };
      await expect(thread.score(broken, [rides[0] ?? {}])).rejects.toMatchObject({
        name: 'ModelLoadError',
        message: 'ride-duration@9: card version "2" does not match its folder "9"',
      });
      expect((await thread.score(ride, [rides[0] ?? {}])).scored.length).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails what it holds when closed, and starts again on the next call', async () => {
    // The expectation is attached before close() fails the call, so the rejection is handled when it happens.
    const held = expect(thread.score(ride, rides)).rejects.toThrow(/closed|exited/);
    await thread.close();
    await held;
    expect(thread.pending()).toBe(0);
    expect((await thread.score(ride, [rides[1] ?? {}])).scored.length).toBe(1);
  });
});

/**
 * The session thread (batch pages' ONNX runs off the main thread) against the model's own session, on the real
 * models: the same outputs bit for bit (regression and the string-input classifier, rejected rows included, pages
 * larger than one run), two pages at once each with its own answer, a version that cannot load named in the error
 * while the next good run works, and close() failing what is in hand instead of leaving it hanging.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldRecord, ScoreOutput } from '../contracts/scoring.js';
import { readGolden } from './golden.js';
import { loadModel, type LoadedModel } from './load-model.js';
import { scoreRows } from './scorer.js';
import { createSessionThread, type SessionThread } from './session-thread.js';

const MODEL_DIR = fileURLToPath(new URL('../models/', import.meta.url));

const plain = (out: ScoreOutput) => ({
  model: out.model,
  predictions: out.predictions,
  scored: Array.from(out.scored),
  outputs: Object.fromEntries(
    Object.entries(out.outputs).map(([k, c]) => [k, Array.from(c.data as ArrayLike<unknown>)]),
  ),
  rejections: out.rejections,
});

/** `n` records cycled from the golden rows, so a page spans several runs of `maxBatchRows`. */
const repeat = (rows: FieldRecord[], n: number) =>
  Array.from({ length: n }, (_, i) => rows[i % rows.length] ?? {});

describe('session thread', () => {
  let thread: SessionThread;
  let ride: LoadedModel;
  let penguin: LoadedModel;
  let rides: FieldRecord[];
  let penguins: FieldRecord[];

  beforeAll(async () => {
    thread = createSessionThread({ intraOpThreads: 1 });
    // Runs of 1000 rows (the cards allow more), so a 2500-row page takes three runs.
    ride = await loadModel(path.join(MODEL_DIR, 'ride-duration', '2'), 'ride-duration', '2', {
      maxBatchRows: 1000,
    });
    penguin = await loadModel(path.join(MODEL_DIR, 'penguin-species', '1'), 'penguin-species', '1', {
      maxBatchRows: 1000,
    });
    rides = repeat(await readGolden(ride.dir), 2500);
    penguins = repeat(await readGolden(penguin.dir), 2500);
    // Rows the signature refuses come back as rejections, as on the main thread.
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

  it('scores a page exactly as the main thread does, over several runs', async () => {
    for (const [model, records] of [
      [ride, rides],
      [penguin, penguins],
    ] as const) {
      expect(records.length).toBeGreaterThan(2 * model.maxBatchRows);
      const onThread = plain(await scoreRows(model, records, thread.run));
      expect(onThread).toEqual(plain(await scoreRows(model, records)));
      expect(onThread.rejections).toHaveLength(1);
      expect(onThread.scored).toHaveLength(records.length - 1);
    }
  });

  it('gives two pages in flight at once their own answers', async () => {
    const first = rides.slice(0, 1500);
    const second = rides.slice(1000, 2400);
    const [a, b] = await Promise.all([
      scoreRows(ride, first, thread.run),
      scoreRows(ride, second, thread.run),
    ]);
    expect(plain(a)).toEqual(plain(await scoreRows(ride, first)));
    expect(plain(b)).toEqual(plain(await scoreRows(ride, second)));
  });

  it('names a version that cannot load, and the next good run still works', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'session-bad-'));
    try {
      await cp(ride.dir, dir, { recursive: true });
      await writeFile(path.join(dir, 'model.onnx'), 'not a model');
      const broken = { ...ride, dir, version: '9' };
      await expect(scoreRows(broken, rides.slice(0, 3), thread.run)).rejects.toMatchObject({
        name: 'ModelLoadError',
        message: 'ride-duration@9: card version "2" does not match its folder "9"',
      });
      expect((await scoreRows(ride, rides.slice(0, 3), thread.run)).scored).toHaveLength(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails what it holds when closed, and starts again on the next run', async () => {
    const held = expect(scoreRows(ride, rides, thread.run)).rejects.toThrow(/closed|exited/);
    await thread.close();
    await held;
    expect((await scoreRows(ride, rides.slice(0, 2), thread.run)).scored).toHaveLength(2);
  });
});

/**
 * What the thread and lane tests (scoring/score-thread, session-thread and hold, api/online) share: the ride and
 * penguin versions with their golden rows plus one row each that the signature refuses, outputs as plain values to
 * compare, a scorer that writes down the calls it gets, and a copy of the ride version that cannot load.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FieldRecord, ResolvedModel, ScoreOutput } from '../contracts/scoring.js';
import { readGolden } from '../scoring/golden.js';
import { loadModel, type LoadedModel } from '../scoring/load-model.js';
import { scoreRows } from '../scoring/scorer.js';

const MODEL_DIR = fileURLToPath(new URL('../models/', import.meta.url));

export const plain = (out: ScoreOutput) => ({
  model: out.model,
  predictions: out.predictions,
  scored: Array.from(out.scored),
  outputs: Object.fromEntries(
    Object.entries(out.outputs).map(([k, c]) => [k, Array.from(c.data as ArrayLike<unknown>)]),
  ),
  rejections: out.rejections,
});

export interface ThreadFixtures {
  ride: LoadedModel;
  penguin: LoadedModel;
  /** Golden rows (cycled to `rows` if given, else the first `rows`), then one row the signature refuses. */
  rides: FieldRecord[];
  penguins: FieldRecord[];
  release: () => Promise<void>;
}

/** The real scorer of the fixture versions, with every call it receives written down (`name@version`, rows). */
export function recordingScorer(f: ThreadFixtures) {
  const calls: { model: string; rows: number }[] = [];
  const models = new Map<string, LoadedModel>([
    [`${f.ride.name}@${f.ride.version}`, f.ride],
    [`${f.penguin.name}@${f.penguin.version}`, f.penguin],
  ]);
  const score = (m: ResolvedModel, records: readonly FieldRecord[]) => {
    const key = `${m.name}@${m.version}`;
    calls.push({ model: key, rows: records.length });
    const model = models.get(key);
    if (!model) throw new Error(`${key} is not loaded`);
    return scoreRows(model, records);
  };
  return { calls, score };
}

const take = (golden: FieldRecord[], n: number) =>
  Array.from({ length: n }, (_, i) => golden[i % golden.length] ?? {});

export async function threadFixtures(o: { rows: number; maxBatchRows?: number }): Promise<ThreadFixtures> {
  const options = o.maxBatchRows ? { maxBatchRows: o.maxBatchRows } : {};
  const ride = await loadModel(path.join(MODEL_DIR, 'ride-duration', '2'), 'ride-duration', '2', options);
  const penguin = await loadModel(
    path.join(MODEL_DIR, 'penguin-species', '1'),
    'penguin-species',
    '1',
    options,
  );
  const rides = take(await readGolden(ride.dir), o.rows);
  const penguins = take(await readGolden(penguin.dir), o.rows);
  // Rows the signature refuses: they come back as rejections naming the field, as on the main thread.
  rides.push({
    PULocationID: 'x',
    DOLocationID: 1,
    trip_distance: 2,
    pickup_datetime: '2021-02-01T08:00:00',
  });
  penguins.push({ island: 7 });
  return {
    ride,
    penguin,
    rides,
    penguins,
    release: async () => {
      await ride.session.release();
      await penguin.session.release();
    },
  };
}

/** Runs `use` with ride-duration 2 copied to a folder loaded as version 9 with a broken model file. */
export async function withBrokenRide(ride: LoadedModel, use: (broken: LoadedModel) => Promise<void>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'thread-bad-'));
  try {
    await cp(ride.dir, dir, { recursive: true });
    await writeFile(path.join(dir, 'model.onnx'), 'not a model');
    // The card says version 2: loaded as 9, the folder and the card disagree.
    await use({ ...ride, dir, version: '9' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const BROKEN_RIDE_ERROR = {
  name: 'ModelLoadError',
  message: 'ride-duration@9: card version "2" does not match its folder "9"',
};

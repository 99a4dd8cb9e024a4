/**
 * The rides retraining on real TLC months (skipped, with the reason, without ../shared/data): deployments/
 * ride-duration.json's own command (models/train/retrain_rides.py) gets the API's training window (train_from,
 * train_to) as {from}/{to}, trains on January 2022 and validates on February 2022; the champion (the repository's
 * version 2) and the candidate are then scored by ONNX Runtime on the latest labelled window: February 2022's rides,
 * loaded by `npm run ingest`'s code, labelled through the labels table as the API writes it. Both figures must
 * equal a recomputation in Python straight from the parquet file (the rows the cards count, less those the
 * signature refuses). A window holding no month fails the run with the script's message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetrainingRun } from '../../contracts/retraining.js';
import { ingestParquetFile } from '../../data/ingest.js';
import { upsertLabels } from '../../db/queries/labels.js';
import { TEST_MODEL_DIR } from '../helpers.js';
import { ROOT, startRetrainingStack, TOOLS_DIR, type RetrainingStack } from './fixture.js';

const DATA_DIR = path.resolve('..', 'shared', 'data');
const JAN_2022 = path.join(DATA_DIR, 'green_tripdata_2022-01.parquet');
const FEB_2022 = path.join(DATA_DIR, 'green_tripdata_2022-02.parquet');
const D = 'ride-duration';
const R = `/deployments/${D}/retraining`;

interface Card {
  metrics: {
    validation: { mae: number; rows: number; file: string };
    other_months: Record<string, { mae: number; rows: number }>;
  };
  training_data: { files?: string[]; file: string };
  retraining?: { from: string; to: string; months: string[]; rule: string };
  monitoring?: { reference: { rows: number; features: Record<string, unknown> } };
}
/**
 * Both MAEs recomputed in Python from the parquet file (train.py's cleaning, the signature's bounds, ONNX Runtime
 * in Python), independently of Postgres and the TypeScript scorer.
 */
function recompute(modelDir: string): { rows: number; refused: number; champion: number; candidate: number } {
  const code = `
import json, sys
from pathlib import Path
import numpy as np, onnxruntime as ort
sys.path.insert(0, "models/train")
import train as T
df, _ = T.read_trips(Path(sys.argv[1]))
ok = df.trip_distance.between(0, 1000) & df.PULocationID.between(1, 999) & df.DOLocationID.between(1, 999)
kept = df[ok].reset_index(drop=True)
feeds = T.onnx_inputs("gbm", kept)
mae = lambda v: float(np.mean(np.abs(ort.InferenceSession(sys.argv[2] + "/" + v + "/model.onnx").run(
    ["duration"], feeds)[0].ravel().astype(np.float64) - kept.duration.to_numpy())))
print(json.dumps({"rows": len(kept), "refused": int((~ok).sum()), "champion": mae("2"), "candidate": mae("3")}))
`;
  const r = spawnSync(path.join(TOOLS_DIR, 'venv-train', 'bin', 'python'), ['-c', code, FEB_2022, modelDir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`the Python recomputation failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { rows: number; refused: number; champion: number; candidate: number };
}

const card = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as Card;

/** February 2022's rides, and a label for each ride train.py keeps (1..60 minutes, every field present). */
async function loadFebruary(pool: Parameters<typeof ingestParquetFile>[0]): Promise<void> {
  await ingestParquetFile(pool, FEB_2022);
  const { rows } = await pool.query<{ ride_id: string; actual_duration: number }>(
    `SELECT ride_id, actual_duration FROM rides
      WHERE actual_duration BETWEEN 1 AND 60
        AND pu_location_id IS NOT NULL AND do_location_id IS NOT NULL AND trip_distance IS NOT NULL`,
  );
  await upsertLabels(
    pool,
    D,
    rows.map((r) => ({ key: r.ride_id, label: r.actual_duration })),
    'batch',
  );
}

describe.runIf(existsSync(JAN_2022) && existsSync(FEB_2022))(
  'rides retraining on January-February 2022 (needs ../shared/data: skipped without the TLC files)',
  () => {
    let stack: RetrainingStack;
    beforeAll(async () => {
      stack = await startRetrainingStack({
        champion: 'repository',
        deployment: { name: D, versions: ['1', '2'], load: loadFebruary },
      });
    }, 180_000);
    afterAll(async () => {
      await stack?.close();
    });

    async function start(body: unknown): Promise<string> {
      const res = await stack.send('POST', R, body);
      expect(res.status, await res.clone().text()).toBe(202);
      return ((await res.json()) as { runId: string }).runId;
    }
    async function recorded(runId: string): Promise<RetrainingRun> {
      return (await (await stack.send('GET', `${R}/${runId}`)).json()) as RetrainingRun;
    }

    it(
      "trains on the window's months and registers a version with a lower MAE than version 2, figures as in Python",
      { timeout: 240_000 },
      async () => {
        const s = stack;
        const runId = await start({
          reason: 'new months',
          train_from: '2022-01-01T00:00:00Z',
          train_to: '2022-03-01',
        });
        const result = await s.result(runId);
        expect(result.status, result.outcome).toBe('registered');
        expect(result.version).toBe('3');

        // The command got the window, normalised to ISO times.
        const run = await recorded(runId);
        expect(run.command.slice(1, 6)).toEqual([
          'models/train/retrain_rides.py',
          '--from',
          '2022-01-01T00:00:00.000Z',
          '--to',
          '2022-03-01T00:00:00.000Z',
        ]);
        const candidate = await card(path.join(s.modelDir, D, '3'));
        expect(candidate.retraining).toMatchObject({
          from: '2022-01-01T00:00:00+00:00',
          to: '2022-03-01T00:00:00+00:00',
          months: ['green_tripdata_2022-01.parquet', 'green_tripdata_2022-02.parquet'],
        });
        expect(candidate.training_data.files).toEqual(['green_tripdata_2022-01.parquet']);
        expect(candidate.metrics.validation.file).toBe('green_tripdata_2022-02.parquet');
        expect(Object.keys(candidate.monitoring?.reference.features ?? {})).toEqual([
          'PULocationID',
          'DOLocationID',
          'trip_distance',
        ]);

        // The figures: the labelled rows are exactly the rows train.py validated on (both cards count them), less
        // those the signature refuses (trip_distance above 1000 miles); Python recomputes both MAEs from the file.
        const champion = (await card(path.join(TEST_MODEL_DIR, D, '2'))).metrics.other_months[
          'green_tripdata_2022-02.parquet'
        ];
        const python = recompute(path.join(s.modelDir, D));
        const f = result.figures;
        expect(f).toMatchObject({
          metric: 'mae',
          margin: 0.1,
          rows: candidate.metrics.validation.rows,
          rejected: { champion: python.refused, candidate: python.refused },
        });
        expect(f?.rows).toBe(champion?.rows);
        // Compared on the default window: the deployment's 7 days before the latest label (all sent just now).
        expect(Date.parse(f?.to ?? '') - Date.parse(f?.from ?? '')).toBe(7 * 86_400_000 + 1);
        expect(python.rows + python.refused).toBe(f?.rows);
        expect(Math.abs((f?.champion ?? NaN) - python.champion)).toBeLessThan(1e-5);
        expect(Math.abs((f?.candidate ?? NaN) - python.candidate)).toBeLessThan(1e-5);
        expect(f?.gain).toBeCloseTo((f?.champion ?? NaN) - (f?.candidate ?? NaN), 5);
        expect(f?.gain).toBeGreaterThan(0.1);
        expect(result.outcome).toMatch(
          /^mae 3\.\d+ \(version 3\) against 3\.\d+ \(champion 2\) on \d+ labelled rows: better by 0\.\d+, at least the margin 0\.1; rollout \S+ started \(manual approval\)$/,
        );
        expect(await s.versionsOnDisk()).toEqual(['1', '2', '3']);
        const rollout = await s.send('GET', `/deployments/${D}/rollouts/${result.rollout}`);
        expect(rollout.status).toBe(200);
        expect(((await rollout.json()) as { spec: unknown }).spec).toMatchObject({
          version: '3',
          approval: 'manual',
        });
      },
    );

    it("fails a window that holds no TLC month, with the script's message, and registers nothing", async () => {
      const s = stack;
      const runId = await start({
        reason: 'no data yet',
        train_from: '2026-01-01T00:00:00Z',
        train_to: '2026-02-01T00:00:00Z',
      });
      const result = await s.result(runId);
      expect(result.status).toBe('failed');
      expect(result.outcome).toMatch(
        /^python\S* exited with code 2: .*error: no TLC month in the window 2026-01-01T00:00:00\+00:00\.\.2026-02-01T00:00:00\+00:00: \S+ holds 2021-01, /,
      );
      expect(await s.versionsOnDisk()).toEqual(['1', '2', '3']);
    }, 60_000);
  },
);

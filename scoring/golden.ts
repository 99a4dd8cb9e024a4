/** Reads a model version's golden.jsonl (validation rows with scikit-learn's predictions) for parity checks. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RideInput } from '../contracts/scoring.js';

export interface GoldenRow {
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
  lpep_pickup_datetime: string;
  actual_duration: number;
  sklearn_prediction: number;
}

export async function readGolden(versionDir: string): Promise<GoldenRow[]> {
  const text = await readFile(path.join(versionDir, 'golden.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as GoldenRow);
}

export function goldenRides(rows: readonly GoldenRow[]): RideInput[] {
  return rows.map((g) => ({
    PULocationID: g.PULocationID,
    DOLocationID: g.DOLocationID,
    trip_distance: g.trip_distance,
    pickup_datetime: g.lpep_pickup_datetime,
  }));
}

export function errorMetrics(
  predicted: readonly number[],
  actual: readonly number[],
): { rmse: number; mae: number } {
  let se = 0;
  let ae = 0;
  for (let i = 0; i < predicted.length; i++) {
    const d = (predicted[i] ?? NaN) - (actual[i] ?? NaN);
    se += d * d;
    ae += Math.abs(d);
  }
  return { rmse: Math.sqrt(se / predicted.length), mae: ae / predicted.length };
}

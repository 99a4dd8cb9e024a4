/**
 * A model version's golden.jsonl: records as a caller sends them, each with the training framework's own answer
 * (regression `sklearn_prediction`; classification `sklearn_label` and `sklearn_probabilities`) and the true value,
 * for parity checks and benchmarks.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FieldRecord } from '../contracts/scoring.js';

export type GoldenRow = FieldRecord & {
  sklearn_prediction?: number;
  sklearn_label?: string | number;
  sklearn_probabilities?: Record<string, number>;
};

export async function readGolden(versionDir: string): Promise<GoldenRow[]> {
  const text = await readFile(path.join(versionDir, 'golden.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as GoldenRow);
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

/** Accuracy and mean log loss of class probabilities against true labels. */
export function classificationMetrics(
  probabilities: readonly Record<string, number>[],
  labels: readonly (string | number)[],
  predicted: readonly (string | number | null)[],
): { accuracy: number; log_loss: number } {
  let correct = 0;
  let loss = 0;
  labels.forEach((label, i) => {
    if (predicted[i] === label) correct++;
    const p = probabilities[i]?.[String(label)] ?? 0;
    loss -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, p)));
  });
  return { accuracy: correct / labels.length, log_loss: loss / labels.length };
}

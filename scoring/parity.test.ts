/** Parity: the card's feature rules + onnxruntime-node reproduce scikit-learn on every golden row of every model. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestScorer, TEST_MODEL_DIR } from '../test/helpers.js';
import { classificationMetrics, errorMetrics, readGolden } from './golden.js';
import { predictionAt } from './predictions.js';
import type { ModelScorer } from './scorer.js';

const goldenOf = (name: string, version: string) => readGolden(path.join(TEST_MODEL_DIR, name, version));
const numbers = (values: readonly unknown[]) => values.map((v) => (typeof v === 'number' ? v : NaN));

describe('parity with scikit-learn on golden.jsonl', () => {
  let scorer: ModelScorer;
  beforeAll(async () => {
    scorer = await createTestScorer();
  });
  afterAll(async () => {
    await scorer?.close();
  });

  it.each(['1', '2'])(
    'ride-duration@%s: every row within 1e-3 minutes; the card golden metrics recomputed from the rows',
    async (version) => {
      const golden = await goldenOf('ride-duration', version);
      expect(golden).toHaveLength(1000);
      const out = await scorer.score(`ride-duration@${version}`, golden);
      expect(out.model).toEqual({ name: 'ride-duration', version });
      expect(out.rejections).toEqual([]);

      const predictions = numbers(out.predictions);
      const worst = golden.reduce<{ diff: number; index: number }>(
        (acc, g, i) => {
          const diff = Math.abs((predictions[i] ?? NaN) - (g.sklearn_prediction ?? NaN));
          return Number.isNaN(diff) || diff > acc.diff ? { diff, index: i } : acc;
        },
        { diff: 0, index: -1 },
      );
      expect(worst.diff, `worst row ${worst.index}`).toBeLessThan(1e-3);

      // The card's figures must be what its own golden rows give, from scikit-learn's answers and from ours.
      const actual = numbers(golden.map((g) => g.actual_duration));
      const card = (await scorer.describe(`ride-duration@${version}`)).card;
      const stated = card.metrics?.golden as { rmse: number; mae: number; rows: number } | undefined;
      expect(stated?.rows).toBe(golden.length);
      const sklearn = errorMetrics(numbers(golden.map((g) => g.sklearn_prediction)), actual);
      const ours = errorMetrics(predictions, actual);
      for (const m of [sklearn, ours]) {
        expect(m.rmse).toBeCloseTo(stated?.rmse ?? NaN, 3);
        expect(m.mae).toBeCloseTo(stated?.mae ?? NaN, 3);
      }
    },
  );

  it('ride-duration@2 beats the course baseline @1 on the same golden rows (recomputed, not read from cards)', async () => {
    const golden = await goldenOf('ride-duration', '2');
    const actual = numbers(golden.map((g) => g.actual_duration));
    const v1 = errorMetrics(numbers((await scorer.score('ride-duration@1', golden)).predictions), actual);
    const v2 = errorMetrics(numbers((await scorer.score('ride-duration@2', golden)).predictions), actual);
    expect(v2.rmse).toBeLessThan(v1.rmse);
  });

  it('penguin-species@1: labels equal, probabilities within 1e-5, accuracy and log loss as the card states', async () => {
    const golden = await goldenOf('penguin-species', '1');
    expect(golden.length).toBeGreaterThan(50);
    const out = await scorer.score('penguin-species@1', golden);
    expect(out.rejections).toEqual([]);
    expect(out.predictions).toEqual(golden.map((g) => g.sklearn_label));
    const model = scorer.registry.get('penguin-species', '1');
    if (!model) throw new Error('penguin-species@1 is not loaded');
    const probabilities = golden.map(
      (_, k) => predictionAt(model, out, k).probabilities as Record<string, number>,
    );
    let worst = 0;
    golden.forEach((g, i) => {
      for (const [c, p] of Object.entries(g.sklearn_probabilities ?? {}))
        worst = Math.max(worst, Math.abs((probabilities[i]?.[c] ?? NaN) - p));
    });
    expect(worst).toBeLessThan(1e-5);
    const labels = golden.map((g) => g.species as string);
    const ours = classificationMetrics(probabilities, labels, out.predictions);
    const stated = model.card.metrics?.golden as { accuracy: number; log_loss: number; rows: number };
    expect(stated.rows).toBe(golden.length);
    expect(ours.accuracy).toBeCloseTo(stated.accuracy, 4);
    expect(ours.log_loss).toBeCloseTo(stated.log_loss, 3);
  });

  it('scores the same rows identically whether sub-batched or not', async () => {
    const golden = await goldenOf('ride-duration', '1');
    const small = await createTestScorer(undefined, { maxBatchRows: 7 });
    try {
      const a = await scorer.score('ride-duration@1', golden);
      const b = await small.score('ride-duration@1', golden);
      expect(b.predictions).toEqual(a.predictions);
    } finally {
      await small.close();
    }
  });
});

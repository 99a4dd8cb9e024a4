/** Parity: the project's feature code + onnxruntime-node reproduce scikit-learn on every golden row. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestScorer, TEST_MODEL_DIR } from '../test/helpers.js';
import { errorMetrics, goldenRides, readGolden } from './golden.js';
import type { ModelScorer } from './scorer.js';

describe('parity with scikit-learn on golden.jsonl', () => {
  let scorer: ModelScorer;
  beforeAll(async () => {
    scorer = await createTestScorer();
  });
  afterAll(async () => {
    await scorer?.close();
  });

  it.each(['1', '2'])(
    'ride-duration@%s: every row within 1e-3 minutes, golden metrics match the card',
    async (version) => {
      const golden = await readGolden(path.join(TEST_MODEL_DIR, 'ride-duration', version));
      expect(golden).toHaveLength(1000);
      const out = await scorer.score(`ride-duration@${version}`, goldenRides(golden));
      expect(out.model).toEqual({ name: 'ride-duration', version });
      expect(out.rejections).toEqual([]);

      const predictions = out.predictions.map((p) => p ?? NaN);
      const worst = golden.reduce(
        (acc, g, i) => {
          const diff = Math.abs((predictions[i] ?? NaN) - g.sklearn_prediction);
          return Number.isNaN(diff) || diff > acc.diff ? { diff, index: i } : acc;
        },
        { diff: 0, index: -1 },
      );
      expect(worst.diff, `worst row ${worst.index}`).toBeLessThan(1e-3);

      const card = (await scorer.describe(`ride-duration@${version}`)).card;
      const metrics = errorMetrics(
        predictions,
        golden.map((g) => g.actual_duration),
      );
      expect(card.metrics?.golden?.rows).toBe(1000);
      expect(metrics.rmse).toBeCloseTo(card.metrics?.golden?.rmse ?? NaN, 3);
      expect(metrics.mae).toBeCloseTo(card.metrics?.golden?.mae ?? NaN, 3);
    },
  );

  it('card validation RMSE: v1 is the course baseline (7.7587), v2 beats it (<= 5.6)', async () => {
    const v1 = (await scorer.describe('ride-duration@1')).card.metrics?.validation?.rmse ?? NaN;
    const v2 = (await scorer.describe('ride-duration@2')).card.metrics?.validation?.rmse ?? NaN;
    expect(Math.abs(v1 - 7.7587)).toBeLessThanOrEqual(0.01);
    expect(v2).toBeLessThanOrEqual(5.6);
  });

  it('scores the same rows identically whether sub-batched or not', async () => {
    const golden = await readGolden(path.join(TEST_MODEL_DIR, 'ride-duration', '1'));
    const small = await createTestScorer(undefined, { maxBatchRows: 7 });
    try {
      const a = await scorer.score('ride-duration@1', goldenRides(golden));
      const b = await small.score('ride-duration@1', goldenRides(golden));
      expect(b.predictions).toEqual(a.predictions);
    } finally {
      await small.close();
    }
  });
});

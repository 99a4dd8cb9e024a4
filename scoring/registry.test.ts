/** Registry refusals: a corrupted or mismatched version is refused by name and reason; the others keep serving. */
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestScorer, TEST_MODEL_DIR } from '../test/helpers.js';
import { AliasError, ModelNotFoundError } from './errors.js';
import type { ModelScorer } from './scorer.js';

const ride = {
  PULocationID: 74,
  DOLocationID: 75,
  trip_distance: 1.5,
  pickup_datetime: '2021-02-02T09:00:30',
};

async function copyVersion(
  dir: string,
  from: string,
  to: string,
  edit?: (card: Record<string, unknown>) => void,
) {
  const target = path.join(dir, 'ride-duration', to);
  await cp(path.join(TEST_MODEL_DIR, 'ride-duration', from), target, { recursive: true });
  const card = JSON.parse(await readFile(path.join(target, 'model.json'), 'utf8')) as Record<string, unknown>;
  card.version = to;
  edit?.(card);
  await writeFile(path.join(target, 'model.json'), JSON.stringify(card, null, 2));
  return target;
}

describe('registry checks', () => {
  let dir: string;
  let scorer: ModelScorer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'models-'));
    await copyVersion(dir, '1', '1');
    await copyVersion(dir, '2', '2');
    // 3: model.onnx changed after the card was written
    await appendFile(path.join(await copyVersion(dir, '1', '3'), 'model.onnx'), Buffer.from([0]));
    // 4: the card names an input the graph does not have
    await copyVersion(dir, '1', '4', (card) => {
      const inputs = card.inputs as { name: string }[];
      if (inputs[2]) inputs[2].name = 'foo';
    });
    // 5: the card declares a wrong dtype
    await copyVersion(dir, '1', '5', (card) => {
      const inputs = card.inputs as { dtype: string }[];
      if (inputs[2]) inputs[2].dtype = 'int64';
    });
    // 6: the card itself is invalid
    await copyVersion(dir, '1', '6', (card) => {
      delete card.sha256;
    });
    // 7: the card omits a graph input
    await copyVersion(dir, '2', '7', (card) => {
      card.inputs = (card.inputs as { name: string }[]).filter((i) => i.name !== 'pickup_dow');
    });
    scorer = await createTestScorer(undefined, {
      modelDir: dir,
      aliases: { 'ride-duration': { production: '3', staging: '2' } },
    });
  });
  afterAll(async () => {
    await scorer?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists each refused version with its reason', () => {
    const reasons = Object.fromEntries(scorer.failures().map((f) => [f.ref, f.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      'ride-duration@3',
      'ride-duration@4',
      'ride-duration@5',
      'ride-duration@6',
      'ride-duration@7',
    ]);
    expect(reasons['ride-duration@3']).toMatch(
      /^sha256 mismatch \(card 0b0acbd6e4d7…, file [0-9a-f]{12}…\)$/,
    );
    expect(reasons['ride-duration@4']).toBe(
      'card input "foo" is not an input of the graph (graph inputs: PULocationID, DOLocationID, trip_distance)',
    );
    expect(reasons['ride-duration@5']).toBe(
      'card input "trip_distance" is int64 but the graph expects float32',
    );
    expect(reasons['ride-duration@6']).toMatch(/^invalid model\.json \(sha256: /);
    expect(reasons['ride-duration@7']).toMatch(/^graph input "pickup_dow" is not declared in the card/);
    expect(scorer.listModels().map((m) => m.ref)).toEqual(['ride-duration@1', 'ride-duration@2']);
  });

  it('never serves a refused version, while the others keep serving', async () => {
    await expect(scorer.score('ride-duration@3', [ride])).rejects.toThrow(ModelNotFoundError);
    await expect(scorer.score('ride-duration@production', [ride])).rejects.toThrow(
      'alias "production" points to version 3, which is refused at load: sha256 mismatch',
    );
    await expect(scorer.setAlias('ride-duration', 'production', '4')).rejects.toThrow(AliasError);
    const v1 = await scorer.score('ride-duration@1', [ride]);
    const staging = await scorer.score('ride-duration@staging', [ride]);
    expect(v1.predictions[0]).toBeGreaterThan(1);
    expect(staging.model).toEqual({ name: 'ride-duration', version: '2' });
  });

  it('names the ref and what exists when a model is unknown', async () => {
    await expect(scorer.resolve('taxi-fare@1')).rejects.toThrow(
      'Model "taxi-fare@1" not found: unknown model "taxi-fare". Available: ride-duration@1, ride-duration@2, ride-duration@production -> 3, ride-duration@staging -> 2',
    );
    await expect(scorer.resolve('ride-duration@9')).rejects.toThrow(
      '"9" is neither a loaded version nor an alias',
    );
  });
});

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
  model = { from: 'ride-duration', to: 'ride-duration' },
) {
  const target = path.join(dir, model.to, to);
  await cp(path.join(TEST_MODEL_DIR, model.from, from), target, { recursive: true });
  const card = JSON.parse(await readFile(path.join(target, 'model.json'), 'utf8')) as Record<string, unknown>;
  card.version = to;
  card.name = model.to;
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
    // 8: a rule reads a field the signature does not declare
    await copyVersion(dir, '1', '8', (card) => {
      const inputs = card.inputs as { from: string }[];
      if (inputs[2]) inputs[2].from = 'miles';
    });
    // 9: the card's task points at no output
    await copyVersion(dir, '1', '9', (card) => {
      card.regression = { output: 'minutes' };
    });
    // A classifier under another name, from this temporary repository, and one whose classes disagree with its graph.
    const classifier = { from: 'penguin-species', to: 'my-classifier' };
    await copyVersion(dir, '1', '1', undefined, classifier);
    await copyVersion(
      dir,
      '1',
      '2',
      (card) => {
        card.classification = {
          label: 'output_label',
          probabilities: 'output_probability',
          classes: ['a', 'b', 'c'],
        };
      },
      classifier,
    );
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
      'my-classifier@2',
      'ride-duration@3',
      'ride-duration@4',
      'ride-duration@5',
      'ride-duration@6',
      'ride-duration@7',
      'ride-duration@8',
      'ride-duration@9',
    ]);
    expect(reasons['ride-duration@3']).toMatch(
      /^sha256 mismatch \(card 0b0acbd6e4d7…, file [0-9a-f]{12}…\)$/,
    );
    expect(reasons['ride-duration@4']).toBe(
      'inputs[2] "foo": not an input of the graph (graph inputs: PULocationID, DOLocationID, trip_distance); ' +
        'inputs: graph input "trip_distance" is not declared in the card (card inputs: PULocationID, DOLocationID, foo)',
    );
    expect(reasons['ride-duration@5']).toBe(
      'inputs[2] "trip_distance": dtype is int64 but the graph expects float32; inputs[2] "trip_distance": ' +
        'input "trip_distance" is int64 but field "trip_distance" is number (int64 inputs cast from integer or boolean)',
    );
    expect(reasons['ride-duration@6']).toMatch(/^invalid model\.json \(sha256: /);
    expect(reasons['ride-duration@7']).toMatch(
      /^inputs: graph input "pickup_dow" is not declared in the card/,
    );
    expect(reasons['ride-duration@8']).toBe(
      'inputs[2] "trip_distance": input "trip_distance" reads field "miles", which the signature does not declare ' +
        '(fields: PULocationID, DOLocationID, trip_distance)',
    );
    expect(reasons['ride-duration@9']).toBe('regression.output: "minutes" is not one of the card\'s outputs');
    expect(reasons['my-classifier@2']).toBe(
      'classification.classes: ["a","b","c"] differ from the graph\'s ZipMap labels ["Adelie","Chinstrap","Gentoo"]',
    );
    expect(scorer.listModels().map((m) => m.ref)).toEqual([
      'my-classifier@1',
      'ride-duration@1',
      'ride-duration@2',
    ]);
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

  it('serves a model under another name from a temporary repository', async () => {
    const out = await scorer.score('my-classifier', [
      {
        island: 'Biscoe',
        bill_length_mm: 46.1,
        bill_depth_mm: 13.2,
        flipper_length_mm: 211,
        body_mass_g: 4500,
        sex: 'female',
        year: 2007,
      },
    ]);
    expect(out.model).toEqual({ name: 'my-classifier', version: '1' });
    expect(out.predictions).toEqual(['Gentoo']);
  });

  it('names the ref and what exists when a model is unknown', async () => {
    await expect(scorer.resolve('taxi-fare@1')).rejects.toThrow(
      'Model "taxi-fare@1" not found: unknown model "taxi-fare". Available: my-classifier@1, ride-duration@1, ride-duration@2, ride-duration@production -> 3, ride-duration@staging -> 2',
    );
    await expect(scorer.resolve('ride-duration@9')).rejects.toThrow(
      '"9" is neither a loaded version nor an alias',
    );
  });
});

/** `npm run models -- check | init`: a model folder held against its graph, every problem named; a draft card. */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_MODEL_DIR } from '../test/helpers.js';
import { runOfflineCommand, type CliIo } from './models.js';

function capture(): CliIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (l) => out_.push(l), err: (l) => err_.push(l) };
}

describe('npm run models -- check / init', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'models-check-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['ride-duration', '1'],
    ['ride-duration', '2'],
    ['penguin-species', '1'],
  ])('passes the repository model %s@%s', async (name, version) => {
    const io = capture();
    const folder = path.join(TEST_MODEL_DIR, name, version);
    expect(await runOfflineCommand(['check', folder], io)).toBe(0);
    expect(io.err_).toEqual([]);
    expect(io.out_[0]).toContain('ok (card and graph agree');
  });

  it('prints every problem of a broken card, each naming the card field and the graph side', async () => {
    const folder = path.join(dir, 'penguin-species', '1');
    await cp(path.join(TEST_MODEL_DIR, 'penguin-species', '1'), folder, { recursive: true });
    const card = JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')) as {
      inputs: { name: string; dtype: string; from: string }[];
      classification: { classes: string[] };
    };
    const [island, bill] = card.inputs;
    if (!island || !bill) throw new Error('unexpected card');
    island.dtype = 'float32';
    bill.from = 'beak';
    card.classification.classes = ['a', 'b'];
    await writeFile(path.join(folder, 'model.json'), JSON.stringify(card));
    const io = capture();
    expect(await runOfflineCommand(['check', folder], io)).toBe(1);
    const problems = io.err_.map((l) => l.replace(`${folder}: `, ''));
    expect(problems).toEqual([
      'inputs[0] "island": dtype is float32 but the graph expects string',
      'inputs[0] "island": input "island" is float32 but field "island" is string (float32 inputs cast from integer or number or boolean)',
      'inputs[1] "bill_length_mm": input "bill_length_mm" reads field "beak", which the signature does not declare ' +
        '(fields: island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, sex, year)',
      'classification.classes: ["a","b"] differ from the graph\'s ZipMap labels ["Adelie","Chinstrap","Gentoo"]',
      'classification.probabilities: "output_probability" has 3 columns but there are 2 classes',
    ]);
  });

  it('names a card that is not valid against the schema, field by field', async () => {
    const folder = path.join(dir, 'bad', '1');
    await cp(path.join(TEST_MODEL_DIR, 'penguin-species', '1'), folder, { recursive: true });
    await writeFile(
      path.join(folder, 'model.json'),
      JSON.stringify({ name: 'bad', version: '1', task: 'ranking' }),
    );
    const io = capture();
    expect(await runOfflineCommand(['check', folder], io)).toBe(1);
    expect(io.err_.join('\n')).toContain('task: Invalid option');
    expect(io.err_.join('\n')).toContain('signature: ');
    expect(io.err_.join('\n')).toContain('sha256: ');
  });

  it('init drafts a card from the graph (ZipMap classes, string inputs) that check then accepts', async () => {
    const folder = path.join(dir, 'my-penguins', '3');
    await cp(
      path.join(TEST_MODEL_DIR, 'penguin-species', '1', 'model.onnx'),
      path.join(folder, 'model.onnx'),
      {
        recursive: true,
      },
    );
    const io = capture();
    expect(await runOfflineCommand(['init', path.join(folder, 'model.onnx')], io)).toBe(0);
    const draft = JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(draft).toMatchObject({
      name: 'my-penguins',
      version: '3',
      task: 'classification',
      classification: {
        label: 'output_label',
        probabilities: 'output_probability',
        classes: ['Adelie', 'Chinstrap', 'Gentoo'],
      },
    });
    expect((draft.signature as { fields: unknown[] }).fields).toContainEqual({
      name: 'island',
      type: 'string',
    });
    const again = capture();
    expect(await runOfflineCommand(['init', path.join(folder, 'model.onnx')], again)).toBe(1);
    expect(again.err_[0]).toContain('exists; pass --force');
    const check = capture();
    expect(await runOfflineCommand(['check', folder], check)).toBe(0);
  });
});

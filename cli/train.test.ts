/** The train wrapper's decisions (venv, requirements stamp, which script) and its card carry-over; no training. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planTrain, readServingBlocks, REQUIREMENTS, restoreServingBlocks, TrainError } from './train.js';

describe('npm run train (planning)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'train-'));
    await mkdir(path.join(root, 'models/train'), { recursive: true });
    await writeFile(path.join(root, REQUIREMENTS), 'numpy==2.4.6\n');
    await mkdir(path.join(root, 'data'));
    await writeFile(path.join(root, 'data/green_tripdata_2021-01.parquet'), '');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the venv and installs when missing, then only when requirements change', async () => {
    const opts = { root, venvDir: '.tools/venv-train', defaultDataDir: 'data' };
    const first = await planTrain([], opts);
    expect(first).toMatchObject({ createVenv: true, install: true });
    expect(first.command).toEqual(['bash', 'models/train/run.sh', first.python, path.join(root, 'data')]);

    await mkdir(path.dirname(first.python), { recursive: true });
    await writeFile(first.python, '');
    expect(await planTrain([], opts)).toMatchObject({ createVenv: false, install: true }); // no stamp yet
    await writeFile(first.stampFile, `${first.requirementsHash}\n`);
    expect(await planTrain([], opts)).toMatchObject({ createVenv: false, install: false });
    await writeFile(path.join(root, REQUIREMENTS), 'numpy==2.4.7\n');
    expect(await planTrain([], opts)).toMatchObject({ createVenv: false, install: true });
  });

  it('passes other arguments to train.py, and --data DIR to run.sh', async () => {
    const opts = { root, venvDir: 'venv', defaultDataDir: 'nowhere' };
    const plan = await planTrain(['--name', 'ride-duration', '--version', '3'], opts);
    expect(plan.command).toEqual([
      plan.python,
      'models/train/train.py',
      '--name',
      'ride-duration',
      '--version',
      '3',
    ]);
    const script = await planTrain(['models/train/penguins.py', '--out', 'models'], opts);
    expect(script.command).toEqual([script.python, 'models/train/penguins.py', '--out', 'models']);
    const data = await planTrain(['--data', 'data'], opts);
    expect(data.command.slice(0, 2)).toEqual(['bash', 'models/train/run.sh']);
  });

  it('fails clearly when the default data folder is absent', async () => {
    const missing = planTrain([], { root, venvDir: 'venv', defaultDataDir: 'absent' });
    await expect(missing).rejects.toThrow(TrainError);
    await expect(missing).rejects.toThrow(
      `No training data: ${path.join(root, 'absent/green_tripdata_2021-01.parquet')} is missing`,
    );
  });

  it('carries a card serving block over a retrain that dropped it', async () => {
    const card = path.join(root, 'models/m/1/model.json');
    await mkdir(path.dirname(card), { recursive: true });
    await writeFile(card, JSON.stringify({ name: 'm', serving: { max_batch_rows: 256 } }));
    const blocks = await readServingBlocks(path.join(root, 'models'));
    await writeFile(card, JSON.stringify({ name: 'm', sha256: 'new' }));
    expect(await restoreServingBlocks(path.join(root, 'models'), blocks)).toEqual(['m/1']);
    expect(JSON.parse(await readFile(card, 'utf8'))).toEqual({
      name: 'm',
      sha256: 'new',
      serving: { max_batch_rows: 256 },
    });
  });
});

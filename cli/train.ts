/**
 * `npm run train -- [train.py args | script.py args]`: trains models with the project's Python toolchain. Creates
 * the venv `.tools/venv-train` when missing, pip-installs models/train/requirements.txt only when it changed (a
 * sha256 stamp in the venv), then runs train.py with the given args (or the given script, e.g.
 * models/train/penguins.py, with its args), or with none (or only `--data DIR`) trains both ride-duration versions
 * via models/train/run.sh from ../shared/data. Cards' `serving` blocks are carried over a retrain.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../config.js';
import { runMain } from '../platform/run-main.js';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const REQUIREMENTS = 'models/train/requirements.txt';
const FIRST_MONTH = 'green_tripdata_2021-01.parquet';

/** A training request that cannot run (missing data, no suitable Python, a failing step). */
export class TrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainError';
  }
}

export interface TrainPlan {
  venvDir: string;
  python: string;
  stampFile: string;
  requirementsHash: string;
  createVenv: boolean;
  install: boolean;
  /** Program and arguments, run from the repository root. */
  command: string[];
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Decides what has to happen; touches nothing. */
export async function planTrain(
  args: readonly string[],
  options: { root?: string; venvDir: string; defaultDataDir?: string },
): Promise<TrainPlan> {
  const root = options.root ?? ROOT;
  const venvDir = path.resolve(root, options.venvDir);
  const python = path.join(venvDir, 'bin', 'python');
  const stampFile = path.join(venvDir, '.requirements.sha256');
  const requirementsHash = createHash('sha256')
    .update(await readFile(path.join(root, REQUIREMENTS)))
    .digest('hex');
  const createVenv = !(await exists(python));
  const stamp = createVenv ? null : await readFile(stampFile, 'utf8').catch(() => null);
  const install = stamp?.trim() !== requirementsHash;

  let command: string[];
  const dataOnly = args.length === 0 || (args.length === 2 && args[0] === '--data');
  if (dataOnly) {
    const dataDir = path.resolve(root, args[1] ?? options.defaultDataDir ?? '../shared/data');
    if (!(await exists(path.join(dataDir, FIRST_MONTH))))
      throw new TrainError(
        `No training data: ${path.join(dataDir, FIRST_MONTH)} is missing. Put the NYC TLC green-taxi parquet files ` +
          'and taxi_zone_lookup.csv there, pass --data DIR, or pass train.py arguments (see models/train/README.md).',
      );
    command = ['bash', 'models/train/run.sh', python, dataDir];
  } else if (args[0]?.endsWith('.py')) {
    // Another training script of models/train (e.g. penguins.py), with its own arguments.
    command = [python, ...args];
  } else {
    command = [python, 'models/train/train.py', ...args];
  }
  return { venvDir, python, stampFile, requirementsHash, createVenv, install, command };
}

/** The `serving` block of every card under modelDir, keyed by `name/version`. */
export async function readServingBlocks(modelDir: string): Promise<Map<string, unknown>> {
  const blocks = new Map<string, unknown>();
  for (const name of await readdir(modelDir).catch(() => [])) {
    for (const version of await readdir(path.join(modelDir, name)).catch(() => [])) {
      const file = path.join(modelDir, name, version, 'model.json');
      const card = await readFile(file, 'utf8').then(
        (t) => JSON.parse(t) as Record<string, unknown>,
        () => null,
      );
      if (card?.serving !== undefined) blocks.set(`${name}/${version}`, card.serving);
    }
  }
  return blocks;
}

/** Puts back a `serving` block a retrain dropped (train.py writes the card from scratch). */
export async function restoreServingBlocks(
  modelDir: string,
  blocks: Map<string, unknown>,
): Promise<string[]> {
  const restored: string[] = [];
  for (const [key, serving] of blocks) {
    const file = path.join(modelDir, key, 'model.json');
    const card = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as Record<string, unknown>,
      () => null,
    );
    if (!card || card.serving !== undefined) continue;
    await writeFile(file, `${JSON.stringify({ ...card, serving }, null, 2)}\n`);
    restored.push(key);
  }
  return restored;
}

function run(command: string[]): Promise<void> {
  const [program = '', ...args] = command;
  console.log(`$ ${command.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: ROOT, stdio: 'inherit' });
    child.on('error', (err) => reject(new TrainError(`cannot start ${program}: ${err.message}`)));
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new TrainError(`${program} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

/** python3.11 when present (the pinned wheels need >= 3.11), else python3 if it is recent enough. */
function basePython(): string {
  for (const candidate of ['python3.11', 'python3']) {
    const r = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 11))'], {
      encoding: 'utf8',
    });
    if (r.status === 0 && r.stdout.trim() === 'True') return candidate;
  }
  throw new TrainError('Python >= 3.11 is required to train (python3.11 or python3 on PATH)');
}

async function prepareVenv(
  plan: Pick<TrainPlan, 'createVenv' | 'venvDir' | 'install' | 'python' | 'stampFile' | 'requirementsHash'>,
) {
  if (plan.createVenv) await run([basePython(), '-m', 'venv', plan.venvDir]);
  if (plan.install) {
    await run([plan.python, '-m', 'pip', 'install', '--disable-pip-version-check', '-r', REQUIREMENTS]);
    await writeFile(plan.stampFile, `${plan.requirementsHash}\n`);
  }
}

/**
 * Makes (or updates) the training venv under `toolsDir` as `npm run train` does, and returns its python: the
 * `{python}` of a deployment's retraining command.
 */
export async function ensureTrainingVenv(toolsDir: string): Promise<string> {
  const plan = await planTrain(['models/train/penguins.py'], { venvDir: path.join(toolsDir, 'venv-train') });
  await prepareVenv(plan);
  return plan.python;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runMain(async () => {
    const config = loadConfig();
    const plan = await planTrain(process.argv.slice(2), {
      venvDir: path.join(config.paths.tools, 'venv-train'),
    });
    await prepareVenv(plan);
    const modelDir = path.resolve(ROOT, config.models.dir);
    const serving = await readServingBlocks(modelDir);
    await run(plan.command);
    for (const key of await restoreServingBlocks(modelDir, serving))
      console.log(`kept serving settings of ${key}`);
  });
}

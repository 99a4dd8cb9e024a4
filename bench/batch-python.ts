/**
 * The Python side of `bench:batch`: a venv of its own (`.tools/venv-bench`, from the pinned bench/requirements.txt,
 * made on first use and re-installed only when that file changes, like `npm run train` does for training), and
 * the reference scripts run as children that a stopping bench can kill.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const BENCH_REQUIREMENTS = 'bench/requirements.txt';

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** python3.11 when present (the pinned wheels need >= 3.11), else python3 if it is recent enough. */
function basePython(): string | null {
  for (const candidate of ['python3.11', 'python3']) {
    const r = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 11))'], {
      encoding: 'utf8',
    });
    if (r.status === 0 && r.stdout.trim() === 'True') return candidate;
  }
  return null;
}

/** Runs a set-up command with its output shown (pip's progress lines); resolves to null or why it failed. */
function runStep(program: string, args: string[], cwd: string, signal: AbortSignal): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], signal });
    child.once('error', (err) => resolve(`cannot run ${program}: ${err.message}`));
    child.once('exit', (code, sig) =>
      resolve(
        code === 0 ? null : `${path.basename(program)} ${args[1] ?? ''} failed (${sig ?? `exit ${code}`})`,
      ),
    );
  });
}

/**
 * The bench venv's python, made or updated first when needed, or `{ skip }` with the one-line reason the Python
 * references cannot run (no Python 3.11, pip could not install).
 */
export async function ensureBenchPython(
  root: string,
  toolsDir: string,
  log: (m: string) => void,
  signal: AbortSignal,
): Promise<{ python: string } | { skip: string }> {
  const venv = path.join(toolsDir, 'venv-bench');
  const python = path.join(venv, 'bin', 'python');
  const stampFile = path.join(venv, '.requirements.sha256');
  const hash = createHash('sha256')
    .update(await readFile(path.join(root, BENCH_REQUIREMENTS)))
    .digest('hex');
  const shown = path.relative(root, venv);
  if (!(await exists(python))) {
    const base = basePython();
    if (!base) return { skip: 'Python >= 3.11 not found (python3.11 or python3 on PATH)' };
    log(`creating ${shown} for the Python references (first use)`);
    const failed = await runStep(base, ['-m', 'venv', venv], root, signal);
    if (failed) return { skip: failed };
  }
  const stamp = await readFile(stampFile, 'utf8').catch(() => null);
  if (stamp?.trim() !== hash) {
    log(`installing ${BENCH_REQUIREMENTS} into ${shown} (first use or changed pins; about a minute)`);
    const failed = await runStep(
      python,
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--progress-bar',
        'off',
        '-r',
        BENCH_REQUIREMENTS,
      ],
      root,
      signal,
    );
    if (failed) return { skip: `${failed}; see pip's output above` };
    await writeFile(stampFile, `${hash}\n`);
  }
  return { python };
}

/** Runs one reference script; resolves to the JSON object it prints last. Killed when `signal` aborts. */
export function runPythonReference(
  python: string,
  script: string,
  args: string[],
  options: { root: string; env: NodeJS.ProcessEnv; signal: AbortSignal },
): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, ...args], {
      cwd: options.root,
      env: options.env,
      stdio: ['ignore', 'pipe', 'inherit'],
      signal: options.signal,
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', (err) => reject(new Error(`${script}: cannot run ${python}: ${err.message}`)));
    child.once('exit', (code, sig) => {
      if (code !== 0) return reject(new Error(`${script} exited ${sig ?? code} (its stderr is above)`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, number>);
      } catch {
        reject(new Error(`${script} printed no JSON result line`));
      }
    });
  });
}

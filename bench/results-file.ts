/** What every benchmark's results file records about the machine, and where the file goes. */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The machine a run was made on; the load average when it is read (other processes share these cores). */
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg(),
  };
}

/** Writes bench/results/<name>-<at as a file name>.json; answers its path from the repository root. */
export async function writeResults(name: string, at: string, report: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}-${at.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return path.relative(ROOT, file);
}

/**
 * `npm test`: tools first (Temporal CLI), then lint, typecheck, and the whole vitest suite against real
 * Temporal, real Postgres and real ONNX Runtime. Extra arguments go to vitest.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { ensureChromium } from './browser.js';
import { ensureTemporalBinary } from './tools.js';

const config = loadConfig();
const RESULTS = path.resolve(config.paths.data, 'test-results.json');
mkdirSync(path.dirname(RESULTS), { recursive: true });
await ensureTemporalBinary(config.paths.tools, (m) => console.log(`[setup] ${m}`));
ensureChromium((m) => console.log(`[setup] ${m}`)); // the browser tests (test/ui) skip without it

const steps: [string, string[]][] = [
  ['lint', ['run', 'lint']],
  ['typecheck', ['run', 'typecheck']],
  [
    'vitest',
    [
      'exec',
      '--',
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${RESULTS}`,
      ...process.argv.slice(2),
    ],
  ],
];
for (const [name, args] of steps) {
  console.log(`\n[test] ${name}`);
  const started = Date.now();
  const result = spawnSync('npm', args, { stdio: 'inherit' });
  if (name === 'vitest') printTotals();
  if (result.status !== 0) {
    console.error(`[test] ${name} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
  console.log(`[test] ${name} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The plain closing line CI reads: "N passed, N failed, N skipped". */
function printTotals(): void {
  try {
    const r = JSON.parse(readFileSync(RESULTS, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
    };
    console.log(
      `\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
    );
  } catch {
    console.log('\nTests: 0 passed, 1 failed (vitest wrote no results)');
  }
}

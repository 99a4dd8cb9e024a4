/**
 * `npm test`: tools first (Temporal CLI), then lint, typecheck, and the whole vitest suite against real
 * Temporal, real Postgres and real ONNX Runtime. Extra arguments go to vitest.
 */
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../config.js';
import { ensureTemporalBinary } from './tools.js';

const config = loadConfig();
await ensureTemporalBinary(config.paths.tools, (m) => console.log(`[setup] ${m}`));

const steps: [string, string[]][] = [
  ['lint', ['run', 'lint']],
  ['typecheck', ['run', 'typecheck']],
  ['vitest', ['exec', '--', 'vitest', 'run', ...process.argv.slice(2)]],
];
for (const [name, args] of steps) {
  console.log(`\n[test] ${name}`);
  const started = Date.now();
  const result = spawnSync('npm', args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`[test] ${name} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
  console.log(`[test] ${name} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

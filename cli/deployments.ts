/**
 * `npm run deployments [-- list]`: every deployments/<name>.json, checked as the worker checks it (its model's
 * signature, its tables), with its modes, or why it is refused naming both sides. Exit 1 when any is refused.
 */
import { pathToFileURL } from 'node:url';
import { cliDatabaseUrl, loadConfig } from '../config.js';
import { createPool } from '../db/pool.js';
import { runMain } from '../platform/run-main.js';
import type { DeploymentRegistry } from '../platform/deployments.js';
import { createScorer } from '../scoring/scorer.js';
import { loadWorkerDeployments } from '../workers/create-worker.js';
import type { CliIo } from './models.js';

export const DEPLOYMENTS_USAGE = 'Usage: npm run deployments [-- list]';

/** Prints the registry; returns the exit code (1 when a deployment is refused). */
export function listDeployments(registry: DeploymentRegistry, io: CliIo): number {
  const views = registry.list();
  if (views.length === 0) {
    io.out('no deployments (DEPLOYMENT_DIR holds no <name>.json)');
    return 0;
  }
  const rows = [
    ['DEPLOYMENT', 'MODEL', 'STATUS', 'MODES'],
    ...views.map((v) => [v.name, v.model, v.status, v.modes.join(',') || '-']),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  for (const r of rows)
    io.out(
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  for (const v of views.filter((d) => (d.waiting ?? []).length > 0)) {
    io.out(`${v.name} is waiting:`);
    for (const w of v.waiting ?? []) io.out(`  ${w}`);
  }
  for (const v of views.filter((d) => d.problems.length > 0)) {
    io.err(`${v.name} (${v.file}) is refused:`);
    for (const p of v.problems) io.err(`  ${p}`);
  }
  return views.some((v) => v.status === 'refused') ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runMain(async () => {
    const args = process.argv.slice(2);
    const io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };
    if (args.length > 1 || (args[0] !== undefined && args[0] !== 'list')) {
      io.err(DEPLOYMENTS_USAGE);
      process.exitCode = 2;
      return;
    }
    const config = loadConfig();
    const pool = createPool(cliDatabaseUrl(config), { max: 2, application: 'deployments-cli' });
    try {
      const scorer = await createScorer({ modelDir: config.models.dir, pool });
      try {
        const registry = await loadWorkerDeployments({ pool, scorer, dir: config.deployments.dir });
        process.exitCode = listDeployments(registry, io);
      } finally {
        await scorer.close();
      }
    } finally {
      await pool.end();
    }
  });
}

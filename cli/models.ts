/**
 * `npm run models -- list | show <ref> | promote <name> <version> [--alias production]`: inspects the model
 * repository and moves aliases for every running process (through the model_aliases table + NOTIFY).
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadConfig, cliDatabaseUrl } from '../config.js';
import { DEFAULT_ALIAS } from '../contracts/scoring.js';
import { createPool } from '../db/pool.js';
import { runMain } from '../platform/run-main.js';
import { AliasError, ModelNotFoundError } from '../scoring/errors.js';
import { createScorer, type ModelScorer, type ModelSummary } from '../scoring/scorer.js';

export const MODELS_USAGE = `Usage:
  npm run models -- list                                         loaded versions, aliases, refused versions
  npm run models -- show <ref>                                   one version's card (ref: name, name@version, name@alias)
  npm run models -- promote <name> <version> [--alias production] point an alias at a loaded version`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(4));

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

function list(scorer: ModelScorer, io: CliIo): void {
  const rows = scorer
    .listModels()
    .map((m) => [
      m.name,
      m.version,
      m.aliases.join(',') || '-',
      m.card.kind ?? '-',
      fmt(m.card.metrics?.validation?.rmse),
      fmt(m.card.metrics?.validation?.mae),
      m.inputs.join(','),
    ]);
  for (const line of table([
    ['MODEL', 'VERSION', 'ALIASES', 'KIND', 'VAL_RMSE', 'VAL_MAE', 'INPUTS'],
    ...rows,
  ]))
    io.out(line);
  const dangling = scorer.listAliases().filter((a) => !scorer.registry.get(a.name, a.version));
  for (const a of dangling) io.out(`alias ${a.name}@${a.alias} -> ${a.version}: version not loaded`);
  const failures = scorer.failures();
  if (failures.length > 0) {
    io.out('Refused:');
    for (const f of failures) io.out(`  ${f.ref}: ${f.reason}`);
  }
}

function show(m: ModelSummary, io: CliIo): void {
  const c = m.card;
  io.out(`${m.ref}${m.aliases.length > 0 ? ` (${m.aliases.join(', ')})` : ''}`);
  io.out(`  kind:        ${c.kind ?? '-'}`);
  io.out(`  description: ${c.description ?? '-'}`);
  io.out(`  created:     ${c.created ?? '-'}`);
  io.out(`  sha256:      ${c.sha256}`);
  io.out(`  inputs:      ${c.inputs.map((i) => `${i.name} ${i.dtype}`).join(', ')}`);
  io.out(`  output:      ${c.outputs.map((o) => `${o.name} ${o.dtype}`).join(', ')}`);
  io.out(`  batch rows:  ${m.maxBatchRows} per ONNX run`);
  const v = c.metrics?.validation;
  if (v) io.out(`  validation:  RMSE ${fmt(v.rmse)}  MAE ${fmt(v.mae)}`);
  const g = c.metrics?.golden;
  if (g) io.out(`  golden:      RMSE ${fmt(g.rmse)}  MAE ${fmt(g.mae)}  (${g.rows} rows)`);
}

/** Runs one command against a scorer; returns the process exit code. */
export async function runModelsCommand(
  argv: readonly string[],
  scorer: ModelScorer,
  io: CliIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { alias: { type: 'string', default: DEFAULT_ALIAS } },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n${MODELS_USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  try {
    if (command === 'list' && rest.length === 0) {
      list(scorer, io);
      return 0;
    }
    if (command === 'show' && rest.length === 1 && rest[0]) {
      show(await scorer.describe(rest[0]), io);
      return 0;
    }
    if (command === 'promote' && rest.length === 2 && rest[0] && rest[1]) {
      const [name, version] = rest;
      const alias = parsed.values.alias;
      const before = scorer.aliasStore.get(name, alias);
      await scorer.setAlias(name, alias, version);
      io.out(`${name}@${alias} -> ${version}${before === undefined ? ' (new alias)' : ` (was ${before})`}`);
      return 0;
    }
  } catch (err) {
    if (err instanceof ModelNotFoundError || err instanceof AliasError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
  io.err(MODELS_USAGE);
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runMain(async () => {
    const config = loadConfig();
    const pool = createPool(cliDatabaseUrl(config), { max: 2, application: 'models-cli' });
    try {
      const scorer = await createScorer({ modelDir: config.models.dir, pool });
      try {
        const io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };
        process.exitCode = await runModelsCommand(process.argv.slice(2), scorer, io);
      } finally {
        await scorer.close();
      }
    } finally {
      await pool.end();
    }
  });
}

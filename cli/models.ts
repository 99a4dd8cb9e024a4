/**
 * `npm run models -- list | show <ref> | promote <name> <version> [--alias production] | check <dir> |
 * init <model.onnx>`: inspects the model repository, moves aliases for every running process (through the
 * model_aliases table + NOTIFY), validates a model folder against its graph, and drafts a card from a graph.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadConfig, cliDatabaseUrl } from '../config.js';
import { DEFAULT_ALIAS } from '../contracts/scoring.js';
import { createPool, type Pool } from '../db/pool.js';
import { DriftInputError, profileDeployment } from '../activities/drift.js';
import { loadDeployments } from '../platform/deployments.js';
import type { RoutingState } from '../contracts/routing.js';
import { readRouting } from '../db/queries/routing.js';
import { runMain } from '../platform/run-main.js';
import { AliasError, ModelNotFoundError } from '../scoring/errors.js';
import { checkModelFolder, draftCard, readGraph } from '../scoring/model-check.js';
import { createScorer, type ModelScorer, type ModelSummary } from '../scoring/scorer.js';

export const MODELS_USAGE = `Usage:
  npm run models -- list                                         loaded versions, aliases, refused versions
  npm run models -- show <ref>                                   one version's card (ref: name, name@version, name@alias)
  npm run models -- promote <name> <version> [--alias production] point an alias at a loaded version
  npm run models -- check <dir>                                  check models/<name>/<version> (card vs graph)
  npm run models -- init <model.onnx> [--name N] [--version V] [--force]
                                                                 write a draft model.json beside the graph
  npm run models -- profile <name@version> --deployment <d> [--from T --to T]
                                                                 write the card's reference profile (drift) from
                                                                 the deployment's batch source over [from, to),
                                                                 and of the version's predictions over those rows`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(4) : '-');
/** A metric block of the card (free-form: `{rmse, mae}` for a regression, `{accuracy, log_loss}` ...). */
const metricsOf = (m: ModelSummary, block: string) =>
  (m.card.metrics as Record<string, Record<string, unknown> | undefined> | undefined)?.[block] ?? {};
/** `RMSE 7.7587  MAE 5.3397` (show), or `RMSE=7.7587,MAE=5.3397` (list, one cell). */
const figures = (values: Record<string, unknown>, cell = false) =>
  Object.entries(values)
    .filter(([k, v]) => typeof v === 'number' && k !== 'rows')
    .map(([k, v]) => `${k.toUpperCase()}${cell ? '=' : ' '}${fmt(v)}`)
    .join(cell ? ',' : '  ');

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
      m.task.kind,
      figures(metricsOf(m, 'validation'), true) || '-',
      m.fields.join(','),
    ]);
  for (const line of table([['MODEL', 'VERSION', 'ALIASES', 'TASK', 'VALIDATION', 'FIELDS'], ...rows]))
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
  io.out(`  task:        ${m.task.kind}`);
  io.out(`  description: ${c.description ?? '-'}`);
  io.out(`  created:     ${c.created ?? '-'}`);
  io.out(`  sha256:      ${c.sha256}`);
  io.out(
    `  fields:      ${c.signature.fields.map((f) => `${f.name} ${f.type}${f.nullable ? '?' : ''}`).join(', ')}`,
  );
  io.out(`  inputs:      ${c.inputs.map((i) => `${i.name} ${i.dtype}`).join(', ')}`);
  io.out(`  outputs:     ${c.outputs.map((o) => `${o.name} ${o.dtype}`).join(', ')}`);
  io.out(`  batch rows:  ${m.maxBatchRows} per ONNX run`);
  const v = metricsOf(m, 'validation');
  if (figures(v)) io.out(`  validation:  ${figures(v)}`);
  const g = metricsOf(m, 'golden');
  if (figures(g)) io.out(`  golden:      ${figures(g)}  (${typeof g.rows === 'number' ? g.rows : '?'} rows)`);
}

/** `check` and `init` read files only: no database, no scorer. Returns undefined for other commands. */
export async function runOfflineCommand(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const [command] = argv;
  if (command !== 'check' && command !== 'init') return undefined;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: { name: { type: 'string' }, version: { type: 'string' }, force: { type: 'boolean' } },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n${MODELS_USAGE}`);
    return 2;
  }
  const [target, ...extra] = parsed.positionals;
  if (!target || extra.length > 0) {
    io.err(MODELS_USAGE);
    return 2;
  }
  if (command === 'check') {
    const problems = await checkModelFolder(target);
    for (const p of problems) io.err(`${target}: ${p}`);
    if (problems.length === 0) io.out(`${target}: ok (card and graph agree; the server will serve it)`);
    return problems.length === 0 ? 0 : 1;
  }
  const dir = path.dirname(path.resolve(target));
  const out = path.join(dir, 'model.json');
  if (existsSync(out) && !parsed.values.force) {
    io.err(`${out} exists; pass --force to overwrite it`);
    return 1;
  }
  let graph;
  try {
    graph = await readGraph(target);
  } catch (err) {
    io.err(`${target}: onnxruntime cannot load it (${(err as Error).message})`);
    return 1;
  }
  const name = parsed.values.name ?? path.basename(path.dirname(dir));
  const version = parsed.values.version ?? path.basename(dir);
  await writeFile(out, `${JSON.stringify(draftCard(graph, name, version), null, 2)}\n`);
  io.out(`wrote ${out}: a draft card for ${name}@${version}.`);
  io.out(
    "Review it: field types, min/max, allowed values, nullable/default, and each input's rule; then run",
  );
  io.out(`  npm run models -- check ${path.relative(process.cwd(), dir) || '.'}`);
  return 0;
}

/** `profile`: the reference profile of a deployment's source window, written into the version's card. */
export async function runProfileCommand(
  argv: readonly string[],
  scorer: ModelScorer,
  pool: Pool,
  deploymentDir: string,
  io: CliIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: { deployment: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n${MODELS_USAGE}`);
    return 2;
  }
  const [ref] = parsed.positionals;
  const name = parsed.values.deployment;
  if (!ref || !name) {
    io.err(MODELS_USAGE);
    return 2;
  }
  const deployments = await loadDeployments({ dir: deploymentDir, scorer });
  const deployment = deployments.get(name);
  if (!deployment) {
    io.err(
      `no ready deployment "${name}" (ready: ${
        deployments
          .ready()
          .map((d) => d.spec.name)
          .join(', ') || 'none'
      })`,
    );
    return 1;
  }
  let model;
  try {
    const resolved = scorer.resolveNow(ref);
    model = scorer.registry.get(resolved.name, resolved.version);
  } catch (err) {
    io.err((err as Error).message);
    return 1;
  }
  if (!model) return 1;
  try {
    const reference = await profileDeployment(
      pool,
      deployment,
      model,
      parsed.values.from,
      parsed.values.to,
      scorer,
    );
    const file = path.join(model.dir, 'model.json');
    const card = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const monitoring = (card.monitoring as Record<string, unknown> | undefined) ?? {};
    await writeFile(
      file,
      `${JSON.stringify({ ...card, monitoring: { ...monitoring, reference } }, null, 2)}\n`,
    );
    io.out(
      `wrote the reference profile of ${model.ref} (${reference.rows} rows of ${reference.source}) into ${file}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof DriftInputError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}

/** Runs one command against a scorer; returns the process exit code. */
export async function runModelsCommand(
  argv: readonly string[],
  scorer: ModelScorer,
  io: CliIo,
  /** The routing mirror: production of a model a controller owns moves through it, not here. */
  routing: () => Promise<RoutingState[]> = () => Promise.resolve([]),
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
      const owner = alias === DEFAULT_ALIAS ? (await routing()).find((r) => r.model === name) : undefined;
      if (owner) {
        io.err(
          `${name}@${alias} follows the champion of deployment ${owner.deployment} (its routing controller): ` +
            `npm run rollouts -- route --champion ${version} --deployment ${owner.deployment}`,
        );
        return 1;
      }
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
    const io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };
    const offline = await runOfflineCommand(process.argv.slice(2), io);
    if (offline !== undefined) {
      process.exitCode = offline;
      return;
    }
    const config = loadConfig();
    const pool = createPool(cliDatabaseUrl(config), { max: 2, application: 'models-cli' });
    try {
      const scorer = await createScorer({ modelDir: config.models.dir, pool });
      try {
        const argv = process.argv.slice(2);
        process.exitCode =
          argv[0] === 'profile'
            ? await runProfileCommand(argv, scorer, pool, config.deployments.dir, io)
            : await runModelsCommand(argv, scorer, io, () => readRouting(pool));
      } finally {
        await scorer.close();
      }
    } finally {
      await pool.end();
    }
  });
}

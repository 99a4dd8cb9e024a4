/**
 * The scorer every mode shares: resolves `name`, `name@version` or `name@alias` once per call, validates rows,
 * and scores the valid ones with that single version (sub-batched by the model's `maxBatchRows`).
 */
import ort from 'onnxruntime-node';
import {
  DEFAULT_ALIAS,
  type FieldRecord,
  type OutputColumn,
  type OutputData,
  type ResolvedModel,
  type ScoreOutput,
  type Scorer,
} from '../contracts/scoring.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import {
  ALIAS_PATTERN,
  createPgAliases,
  createStaticAliases,
  type AliasEntry,
  type AliasStore,
} from './aliases.js';
import { AliasError, ModelNotFoundError } from './errors.js';
import { allocate, buildFeatures } from './features.js';
import { primaries } from './predictions.js';
import type { TaskView } from './graph-check.js';
import type { ModelCard } from './model-card.js';
import type { SessionRun } from './session-thread.js';
import { loadRegistry, type LoadedModel, type LoadFailure, type ModelRegistry } from './registry.js';

export interface ScorerOptions {
  modelDir: string;
  /** Aliases come from the `model_aliases` table (kept in sync across processes). */
  pool?: Pool;
  /** Without a pool: fixed aliases, e.g. `{ 'my-model': { production: '2' } }`. */
  aliases?: Record<string, Record<string, string>>;
  intraOpThreads?: number;
  /** Overrides every model's rows per ONNX run (benchmarks). */
  maxBatchRows?: number;
  logger?: Logger;
  aliasRefreshIntervalMs?: number;
}

/** One loaded version as the API and CLI list it. */
export interface ModelSummary {
  name: string;
  version: string;
  ref: string;
  aliases: string[];
  /** The signature's field names (what a record carries). */
  fields: string[];
  /** Graph inputs, in card order. */
  inputs: string[];
  /** Served outputs, in card order. */
  outputs: string[];
  task: TaskView;
  maxBatchRows: number;
  card: ModelCard;
}

export interface ModelScorer extends Scorer {
  registry: ModelRegistry;
  aliasStore: AliasStore;
  /** Points `name@alias` at a loaded `version` for every process; throws AliasError otherwise. */
  setAlias(name: string, alias: string, version: string): Promise<void>;
  listModels(): ModelSummary[];
  listAliases(): AliasEntry[];
  /** Loads a version registered after start (registry.add) and makes its name resolvable. */
  addVersion(name: string, version: string): Promise<LoadedModel>;
  /** Versions that were refused at load, with the reason. */
  failures(): LoadFailure[];
  /** `resolve` without the promise, for the online hot path; throws ModelNotFoundError. */
  resolveNow(ref: string): ResolvedModel;
  /** The loaded model a ref points to right now (resolves the alias). */
  describe(ref: string | ResolvedModel): Promise<ModelSummary>;
  close(): Promise<void>;
}

export async function createScorer(options: ScorerOptions): Promise<ModelScorer> {
  const { logger } = options;
  const registry = await loadRegistry(options);
  let aliasStore: AliasStore;
  try {
    aliasStore = options.pool
      ? await createPgAliases({
          pool: options.pool,
          logger,
          refreshIntervalMs: options.aliasRefreshIntervalMs,
        })
      : createStaticAliases(options.aliases);
  } catch (err) {
    await registry.close();
    throw err;
  }

  const available = (name?: string): string[] => {
    const refs = registry
      .list()
      .filter((m) => name === undefined || m.name === name)
      .map((m) => m.ref);
    const aliases = aliasStore
      .list()
      .filter((a) => name === undefined || a.name === name)
      .map((a) => `${a.name}@${a.alias} -> ${a.version}`);
    return [...refs, ...aliases];
  };

  // The loaded set changes only by addVersion (aliases do, and are read on every lookup).
  const names = new Set(registry.names());
  const resolved = new Map<LoadedModel, ResolvedModel>();
  const resolveNow = (ref: string): ResolvedModel => {
    const m = lookup(ref);
    let out = resolved.get(m);
    if (!out) resolved.set(m, (out = Object.freeze({ name: m.name, version: m.version })));
    return out;
  };

  const lookup = (ref: string | ResolvedModel): LoadedModel => {
    if (typeof ref !== 'string') {
      const model = registry.get(ref.name, ref.version);
      if (!model) throw new ModelNotFoundError(`${ref.name}@${ref.version}`, available(ref.name));
      return model;
    }
    const at = ref.indexOf('@');
    const name = at < 0 ? ref : ref.slice(0, at);
    const tag = at < 0 ? DEFAULT_ALIAS : ref.slice(at + 1);
    if (!names.has(name)) throw new ModelNotFoundError(ref, available(), `unknown model "${name}"`);
    const direct = registry.get(name, tag);
    if (direct) return direct;
    // A model nobody has promoted yet serves its newest loaded version as production.
    const version =
      aliasStore.get(name, tag) ?? (tag === DEFAULT_ALIAS ? registry.versions(name).at(-1) : undefined);
    if (version === undefined)
      throw new ModelNotFoundError(ref, available(name), `"${tag}" is neither a loaded version nor an alias`);
    const target = registry.get(name, version);
    if (!target) {
      const failure = registry.failures().find((f) => f.name === name && f.version === version);
      const why = failure ? `refused at load: ${failure.reason}` : 'not loaded';
      throw new ModelNotFoundError(
        ref,
        available(name),
        `alias "${tag}" points to version ${version}, which is ${why}`,
      );
    }
    return target;
  };

  const summary = (m: LoadedModel): ModelSummary => ({
    name: m.name,
    version: m.version,
    ref: m.ref,
    aliases: aliasStore
      .list()
      .filter((a) => a.name === m.name && a.version === m.version)
      .map((a) => a.alias)
      .sort(),
    fields: m.card.signature.fields.map((f) => f.name),
    inputs: m.rules.map((r) => r.input),
    outputs: m.outputs.map((o) => o.name),
    task: m.task,
    maxBatchRows: m.maxBatchRows,
    card: m.card,
  });

  return {
    registry,
    aliasStore,
    resolve: (ref) => Promise.resolve(ref).then(resolveNow),
    resolveNow,
    async score(ref, rows) {
      const model = lookup(ref); // once per call: every row of this call is scored by this version
      return scoreRows(model, rows);
    },
    async setAlias(name, alias, version) {
      if (!ALIAS_PATTERN.test(alias))
        throw new AliasError(
          name,
          alias,
          'an alias is lower-case letters, digits, "_" or "-" and starts with a letter',
        );
      if (!registry.get(name, version)) {
        const loaded = registry.versions(name);
        throw new AliasError(
          name,
          alias,
          `version "${version}" is not loaded (loaded: ${loaded.length > 0 ? loaded.join(', ') : 'none'})`,
        );
      }
      await aliasStore.set(name, alias, version);
      logger?.info({ model: name, alias, version }, 'model alias set');
    },
    async addVersion(name, version) {
      const model = await registry.add(name, version);
      names.add(name);
      return model;
    },
    listModels: () => registry.list().map(summary),
    listAliases: () =>
      aliasStore.list().sort((a, b) => `${a.name}@${a.alias}`.localeCompare(`${b.name}@${b.alias}`)),
    failures: () => registry.failures(),
    describe: (ref) => Promise.resolve(ref).then((r) => summary(lookup(r))),
    async close() {
      await aliasStore.close();
      await registry.close();
    },
  };
}

/** Scores `rows` with one loaded version; exported for tests and benchmarks that bypass alias resolution. */
/**
 * Scores rows with one version in runs of at most `maxBatchRows`. `run` runs one set of feeds: the model's own
 * session by default, a session thread's for batch scoring (session-thread.ts).
 */
export async function scoreRows(
  model: LoadedModel,
  rows: readonly FieldRecord[],
  run: SessionRun = (m, feeds, fetches) => m.session.run(feeds, fetches),
): Promise<ScoreOutput> {
  const prepared = model.signature.prepare(rows);
  const { count } = prepared;
  const outputs: Record<string, OutputColumn> = {};
  for (const o of model.outputs)
    outputs[o.name] = { dtype: o.dtype, width: o.width, data: allocate(o.dtype, count * o.width) };
  const fetches = model.outputs.map((o) => o.name);
  for (let from = 0; from < count; from += model.maxBatchRows) {
    const to = Math.min(count, from + model.maxBatchRows);
    const feeds: Record<string, ort.Tensor> = {};
    for (const rule of model.rules) {
      const data = buildFeatures(prepared, [rule], from, to).get(rule.input);
      if (data)
        feeds[rule.input] = new ort.Tensor(
          rule.dtype,
          data,
          rule.flat ? [to - from] : [to - from, rule.width],
        );
    }
    const result = await run(model, feeds, fetches);
    for (const o of model.outputs) {
      const t = result[o.name];
      if (!t) throw new Error(`${model.ref}: the graph returned no "${o.name}"`);
      copyInto(outputs[o.name] as OutputColumn, t.data as OutputData, from * o.width);
    }
  }
  return {
    model: { name: model.name, version: model.version },
    predictions: primaries(model, prepared.valid, count, rows.length, outputs),
    scored: prepared.valid.subarray(0, count),
    outputs,
    rejections: prepared.rejections,
  };
}

function copyInto(column: OutputColumn, data: OutputData, at: number): void {
  const target = column.data;
  if (Array.isArray(target)) {
    const source = data as string[];
    for (let i = 0; i < source.length; i++) target[at + i] = source[i] ?? '';
  } else (target as Float32Array).set(data as Float32Array, at);
}

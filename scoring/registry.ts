/**
 * The model registry: every version under MODEL_DIR (`<name>/<version>/{model.onnx,model.json}`), one ONNX
 * session each. A version that fails its checks is logged and listed by `failures()`, never served; the others
 * keep serving.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { ModelLoadError } from './errors.js';
import { loadModel, type LoadedModel, type LoadOptions } from './load-model.js';

export type { LoadedModel };

export interface LoadFailure {
  name: string;
  version: string;
  /** `name@version` */
  ref: string;
  reason: string;
}

export interface ModelRegistry {
  get(name: string, version: string): LoadedModel | undefined;
  /** Loaded versions, sorted by name then version (numeric-aware). */
  list(): LoadedModel[];
  names(): string[];
  versions(name: string): string[];
  failures(): LoadFailure[];
  /**
   * Loads a version that arrived in MODEL_DIR after start (a retraining registered it); the loaded one when it was
   * there already. Throws ModelLoadError naming the problem, and records nothing then.
   */
  add(name: string, version: string): Promise<LoadedModel>;
  close(): Promise<void>;
}

export interface RegistryOptions extends LoadOptions {
  modelDir: string;
  logger?: Logger;
}

const compareVersions = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** A version folder is one that holds a model.json or a model.onnx; anything else (train/, __pycache__) is ignored. */
async function findVersions(modelDir: string): Promise<{ name: string; version: string; dir: string }[]> {
  const found: { name: string; version: string; dir: string }[] = [];
  for (const name of (await subdirs(modelDir)).sort()) {
    for (const version of (await subdirs(path.join(modelDir, name))).sort(compareVersions)) {
      const dir = path.join(modelDir, name, version);
      if ((await exists(path.join(dir, 'model.json'))) || (await exists(path.join(dir, 'model.onnx'))))
        found.push({ name, version, dir });
    }
  }
  return found;
}

export async function loadRegistry(options: RegistryOptions): Promise<ModelRegistry> {
  const { modelDir, logger } = options;
  const root = path.resolve(modelDir);
  let candidates: { name: string; version: string; dir: string }[];
  try {
    candidates = await findVersions(root);
  } catch (err) {
    throw new ModelLoadError(root, `cannot read MODEL_DIR (${(err as Error).message})`, { cause: err });
  }
  const models = new Map<string, LoadedModel>();
  const failed: LoadFailure[] = [];
  for (const c of candidates) {
    const ref = `${c.name}@${c.version}`;
    try {
      const model = await loadModel(c.dir, c.name, c.version, options);
      models.set(ref, model);
      logger?.info(
        { model: ref, inputs: model.rules.map((r) => r.input), maxBatchRows: model.maxBatchRows },
        'model loaded',
      );
    } catch (err) {
      const reason = err instanceof ModelLoadError ? err.reason : String(err);
      failed.push({ name: c.name, version: c.version, ref, reason });
      logger?.error({ model: ref, reason }, `model refused: ${ref}: ${reason}`);
    }
  }
  if (models.size === 0) logger?.warn({ modelDir: root }, 'no model could be loaded');
  const list = [...models.values()];
  const byVersion = (a: LoadedModel, b: LoadedModel) =>
    a.name === b.name ? compareVersions(a.version, b.version) : a.name.localeCompare(b.name);
  return {
    get: (name, version) => models.get(`${name}@${version}`),
    list: () => [...list],
    names: () => [...new Set(list.map((m) => m.name))],
    versions: (name) => list.filter((m) => m.name === name).map((m) => m.version),
    failures: () => [...failed],
    async add(name, version) {
      const ref = `${name}@${version}`;
      const known = models.get(ref);
      if (known) return known;
      const model = await loadModel(path.join(root, name, version), name, version, options);
      models.set(ref, model);
      list.push(model);
      list.sort(byVersion);
      const refused = failed.findIndex((f) => f.ref === ref);
      if (refused >= 0) failed.splice(refused, 1);
      logger?.info({ model: ref }, 'model version added');
      return model;
    },
    async close() {
      await Promise.all(list.map((m) => m.session.release().catch(() => undefined)));
      models.clear();
    },
  };
}

/** Readiness of the model core: every model name has its production alias pointing at a loaded version. */
import { DEFAULT_ALIAS } from '../contracts/scoring.js';
import type { ModelScorer } from '../scoring/scorer.js';

export type ModelsState = { ok: true; production: string[] } | { ok: false; error: string };

export async function productionModels(scorer: ModelScorer): Promise<ModelsState> {
  const names = scorer.registry.names();
  if (names.length === 0) return { ok: false, error: 'no model is loaded' };
  try {
    const resolved = await Promise.all(names.map((name) => scorer.resolve(`${name}@${DEFAULT_ALIAS}`)));
    return { ok: true, production: resolved.map((m) => `${m.name}@${m.version}`) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

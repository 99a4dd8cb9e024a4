/**
 * Stream events under a deployment's routing: each event goes to the champion or, by its key (the record key, else
 * the event id), to the canary; the shadow share is scored again by the challenger and kept beside the answer with
 * the distance between the two. A challenger that fails in shadow is recorded, never fails the stream.
 */
import { decide, distance, type Role, type RoutingState } from '../contracts/routing.js';
import type { FieldRecord, ResolvedModel } from '../contracts/scoring.js';
import type { QueuedEvent } from '../contracts/stream.js';
import type { PredictionRow, ShadowRow } from '../db/queries/stream.js';
import { predictionAt } from '../scoring/predictions.js';
import type { ModelScorer } from '../scoring/scorer.js';

export interface EventGroup {
  model: ResolvedModel;
  role: Role;
  /** Positions in the slice, in queue order. */
  indices: number[];
}

export interface EventRouting {
  groups: EventGroup[];
  shadow: { model: ResolvedModel; indices: number[] } | null;
}

export function routeEvents(
  state: RoutingState | undefined,
  pinned: ResolvedModel,
  events: readonly QueuedEvent[],
  keyOf: (event: QueuedEvent) => string | number | undefined,
): EventRouting {
  if (!state)
    return { groups: [{ model: pinned, role: 'champion', indices: events.map((_, i) => i) }], shadow: null };
  const champion: EventGroup = {
    model: { name: state.model, version: state.champion },
    role: 'champion',
    indices: [],
  };
  const canary: EventGroup | null =
    state.challenger === null
      ? null
      : { model: { name: state.model, version: state.challenger }, role: 'canary', indices: [] };
  const shadow: number[] = [];
  events.forEach((event, i) => {
    const d = decide(state, String(keyOf(event) ?? event.event_id), () => 0);
    if (d.role === 'canary' && canary) canary.indices.push(i);
    else {
      champion.indices.push(i);
      if (d.shadow !== null) shadow.push(i);
    }
  });
  const groups = [champion, ...(canary ? [canary] : [])].filter((g) => g.indices.length > 0);
  return {
    groups,
    shadow: canary && shadow.length > 0 ? { model: canary.model, indices: shadow } : null,
  };
}

export async function scoreShadows(
  scorer: ModelScorer,
  deployment: string,
  shadow: EventRouting['shadow'],
  events: readonly QueuedEvent[],
  records: readonly FieldRecord[],
  answered: readonly (PredictionRow | undefined)[],
): Promise<ShadowRow[]> {
  if (!shadow) return [];
  const indices = shadow.indices.filter((i) => answered[i] !== undefined);
  if (indices.length === 0) return [];
  const base = (i: number) => ({
    eventId: events[i]?.event_id ?? '',
    deployment,
    model: shadow.model.name,
    version: shadow.model.version,
  });
  try {
    const loaded = scorer.registry.get(shadow.model.name, shadow.model.version);
    if (!loaded) throw new Error(`${shadow.model.name}@${shadow.model.version} is not loaded on this worker`);
    const out = await scorer.score(
      shadow.model,
      indices.map((i) => records[i] ?? {}),
    );
    const rows: ShadowRow[] = [];
    out.scored.forEach((local, k) => {
      const i = indices[local] ?? -1;
      const primary = out.predictions[local] ?? null;
      rows.push({
        ...base(i),
        prediction: predictionAt(loaded, out, k),
        primary,
        diff: distance(primary, answered[i]?.primary ?? null),
        error: null,
      });
    });
    return rows;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return indices.map((i) => ({ ...base(i), prediction: null, primary: null, diff: null, error: message }));
  }
}

/** Activities of the streaming workflow: score + persist + notify a slice of events in one call, dead letters. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { streamAdapterFor } from '../adapters/streams.js';
import type { FieldRecord, Primary, ResolvedModel } from '../contracts/scoring.js';
import type {
  QueuedEvent,
  StreamDeploymentInfo,
  StreamPrediction,
  StreamRolloverNotice,
} from '../contracts/stream.js';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import {
  deleteSpilled,
  findPersisted,
  insertDeadLetters,
  insertPredictions,
  insertShadowPredictions,
  notifyPredictions,
  notifyRollover,
  readSpilled,
  spillEvents,
  takeDeadLetter,
  type PredictionRow,
  type ShadowRow,
} from '../db/queries/stream.js';
import type { Deployment, DeploymentRegistry } from '../platform/deployments.js';
import type { RoutingTable } from '../platform/routing.js';
import { ModelNotFoundError } from '../scoring/errors.js';
import { predictionAt } from '../scoring/predictions.js';
import { routeEvents, scoreShadows } from './stream-routing.js';
import type { ModelScorer } from '../scoring/scorer.js';

export interface StreamActivityDeps {
  pool: Pool;
  /** The routing mirror, for streams that follow their deployment's routing. */
  routing?: RoutingTable;
  /** The model core; its registry gives each version's task, which shapes the prediction. */
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
}

export interface ScoreStreamEventsInput {
  streamId: string;
  deployment: string;
  model: ResolvedModel;
  events: QueuedEvent[];
  /** Route each event by the deployment's routing (champion, canary by key, shadow) instead of `model`. */
  routed?: boolean;
}

export interface ScoredEvent {
  eventId: string;
  /** The primary value (regression value or class label), for the stream's summary. */
  value: Primary;
  payload: StreamPrediction;
}

export interface ScoreStreamEventsResult {
  /** Persisted (by this attempt or an earlier attempt of the same call), in queue order. */
  scored: ScoredEvent[];
  /** Already in the table from another delivery of the same id (outside the dedup window). */
  duplicates: string[];
  deadLettered: { eventId: string; error: string }[];
  attempt: number;
}

const fail = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

function attemptNumber(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (unit use)
  }
}

/** The deployment a stream names, else the default one; non-retryable when there is none. */
function deploymentOf(deps: StreamActivityDeps, name: string | undefined): Deployment {
  if (!deps.deployments)
    throw fail(
      'DeploymentNotFound',
      'this worker was started without deployments (createActivities deps.deployments)',
    );
  const found = name === undefined ? deps.deployments.defaultDeployment() : deps.deployments.get(name);
  if (found) return found;
  const ready = deps.deployments.ready().map((d) => d.spec.name);
  throw fail(
    'DeploymentNotFound',
    name === undefined
      ? `no default deployment is ready (ready: ${ready.join(', ') || 'none'}); name one in the stream's input`
      : `deployment "${name}" is not ready on this worker (ready: ${ready.join(', ') || 'none'})`,
  );
}

/** The event's record with the deployment's streaming defaults filled in (e.g. a time field <- received_at). */
function recordOf(deployment: Deployment, event: QueuedEvent): FieldRecord {
  const defaults = Object.entries(deployment.spec.streaming?.defaults ?? {});
  const missing = defaults.filter(([field]) => event.record[field] === undefined);
  if (missing.length === 0) return event.record;
  return { ...event.record, ...Object.fromEntries(missing.map(([field]) => [field, event.received_at])) };
}

function keyOf(deployment: Deployment, event: QueuedEvent): string | number | undefined {
  if (event.key !== undefined) return event.key;
  const field = deployment.spec.key_field;
  const value = field === undefined ? undefined : event.record[field];
  return typeof value === 'string' || typeof value === 'number' ? value : undefined;
}

/**
 * Scores queued events in order and persists predictions (ON CONFLICT DO NOTHING), dead-letters rejected events
 * and NOTIFYs consumers, all on `db` (the caller's transaction). Rows an earlier attempt wrote are recognised by
 * their `received_at` and reported as scored, not scored again.
 */
async function scoreInto(
  db: PoolClient,
  deps: StreamActivityDeps,
  input: ScoreStreamEventsInput,
  attempt: number,
): Promise<ScoreStreamEventsResult> {
  const { streamId, model, events } = input;
  const deployment = deploymentOf(deps, input.deployment);
  const adapter = streamAdapterFor(deployment.spec.name);
  const persisted = await findPersisted(
    db,
    streamId,
    events.map((e) => e.event_id),
  );
  const result: ScoreStreamEventsResult = { scored: [], duplicates: [], deadLettered: [], attempt };
  const toScore: QueuedEvent[] = [];
  const letters: { event: QueuedEvent; error: string; attempts: number }[] = [];
  const outcome = new Map<string, 'scored' | 'duplicate' | 'dead'>();
  for (const event of events) {
    const existing = persisted.get(event.event_id);
    if (existing) {
      const ours = existing.receivedAt === Date.parse(event.received_at);
      outcome.set(event.event_id, ours ? 'scored' : 'duplicate');
    } else if (event.invalid) {
      letters.push({ event, error: event.invalid, attempts: attempt });
    } else {
      toScore.push(event);
    }
  }

  const rows: PredictionRow[] = [];
  const shadows: ShadowRow[] = [];
  if (toScore.length > 0) {
    const records = toScore.map((e) => recordOf(deployment, e));
    const state = input.routed ? deps.routing?.get(deployment.spec.name) : undefined;
    const routing = routeEvents(state, model, toScore, (e) => keyOf(deployment, e));
    const slots = new Array<PredictionRow | undefined>(toScore.length);
    for (const routed of routing.groups) {
      const rows = routed.indices.map((i) => records[i] ?? {});
      let group = routed;
      let out;
      try {
        out = await deps.scorer.score(group.model, rows);
      } catch (err) {
        // A challenger that cannot score (not loaded on this worker, a failing graph) never holds the stream:
        // the champion answers its events.
        if (group.role !== 'canary' || !state) throw err;
        group = { ...group, role: 'champion', model: { name: state.model, version: state.champion } };
        out = await deps.scorer.score(group.model, rows);
      }
      const loaded = deps.scorer.registry.get(out.model.name, out.model.version);
      if (!loaded)
        throw fail('ModelNotFoundError', `model ${out.model.name}@${out.model.version} is not loaded`);
      for (const rejection of out.rejections) {
        const event = toScore[group.indices[rejection.index] ?? -1];
        if (event)
          letters.push({ event, error: `${rejection.field}: ${rejection.reason}`, attempts: attempt });
      }
      out.scored.forEach((local, k) => {
        const at = group.indices[local] ?? -1;
        const event = toScore[at];
        if (!event) return;
        const prediction = predictionAt(loaded, out, k);
        const key = keyOf(deployment, event);
        const keyed: QueuedEvent = key === undefined ? event : { ...event, key };
        slots[at] = {
          eventId: event.event_id,
          deployment: deployment.spec.name,
          recordKey: key === undefined ? null : String(key),
          model: out.model.name,
          version: out.model.version,
          role: group.role,
          prediction,
          primary: out.predictions[local] ?? null,
          payload: adapter
            ? adapter.output(out.model, keyed, prediction)
            : {
                model: out.model.name,
                version: out.model.version,
                event_id: event.event_id,
                ...(key === undefined ? {} : { key }),
                prediction,
              },
          attempts: attempt,
          receivedAt: event.received_at,
          features: records[at] ?? {},
        };
      });
    }
    // Persisted in queue order whichever version scored each event.
    for (const row of slots) if (row) rows.push(row);
    shadows.push(
      ...(await scoreShadows(deps.scorer, deployment.spec.name, routing.shadow, toScore, records, slots)),
    );
  }

  const inserted = new Set(await insertPredictions(db, streamId, rows));
  await insertShadowPredictions(db, streamId, shadows);
  await insertDeadLetters(db, streamId, letters);
  if (inserted.size > 0) await notifyPredictions(db, streamId);
  // Another delivery of the same id may have won the insert between our read and write.
  for (const row of rows) outcome.set(row.eventId, inserted.has(row.eventId) ? 'scored' : 'duplicate');
  for (const l of letters) outcome.set(l.event.event_id, 'dead');

  const byId = new Map(rows.map((r) => [r.eventId, { value: r.primary, payload: r.payload }]));
  const errors = new Map(letters.map((l) => [l.event.event_id, l.error]));
  for (const event of events) {
    const kind = outcome.get(event.event_id);
    if (kind === 'duplicate') result.duplicates.push(event.event_id);
    else if (kind === 'dead') {
      result.deadLettered.push({ eventId: event.event_id, error: errors.get(event.event_id) ?? 'rejected' });
    } else if (kind === 'scored') {
      const earlier = persisted.get(event.event_id);
      const scored =
        byId.get(event.event_id) ?? (earlier && { value: earlier.primary, payload: earlier.payload });
      if (scored) result.scored.push({ eventId: event.event_id, ...scored });
    }
  }
  return result;
}

export function createStreamActivities(deps: StreamActivityDeps) {
  const resolveModel = async (ref: string): Promise<ResolvedModel> => {
    try {
      return await deps.scorer.resolve(ref);
    } catch (err) {
      if (err instanceof ModelNotFoundError) throw fail('ModelNotFoundError', err.message);
      throw err;
    }
  };
  return {
    /** Resolves a model ref to the exact version a stream pins; an unknown ref fails without retries. */
    resolveStreamModel: resolveModel,

    /**
     * The deployment a new stream scores for (the named one, else the default) and the model version it pins
     * (the given ref, else the deployment's model). Unknown or refused deployments fail without retries.
     */
    async resolveStreamDeployment(input: {
      deployment?: string;
      model?: string;
    }): Promise<StreamDeploymentInfo> {
      const deployment = deploymentOf(deps, input.deployment);
      return {
        deployment: deployment.spec.name,
        model: await resolveModel(input.model ?? deployment.spec.model),
        // A stream that names no model follows the deployment's routing when that is the production alias.
        ...(input.model === undefined && /^[^@]+(@production)?$/.test(deployment.spec.model)
          ? { routed: true }
          : {}),
      };
    },

    /**
     * Scores a slice of queued events and, in one transaction, persists predictions (ON CONFLICT DO NOTHING),
     * dead-letters rejected events, and NOTIFYs consumers. Safe to retry: rows an earlier attempt wrote are
     * recognised by their `received_at` and reported as scored, not scored again.
     */
    async scoreStreamEvents(input: ScoreStreamEventsInput): Promise<ScoreStreamEventsResult> {
      const attempt = attemptNumber();
      return withTransaction(deps.pool, (client) => scoreInto(client, deps, input, attempt));
    },

    /** Scores the oldest spilled events of a stream (the overflow queue) and deletes them in the same transaction. */
    async scoreSpilledEvents(input: {
      streamId: string;
      deployment: string;
      model: ResolvedModel;
      limit: number;
    }): Promise<
      ScoreStreamEventsResult & { consumed: number; remaining: number; lastEventId: string | null }
    > {
      const attempt = attemptNumber();
      return withTransaction(deps.pool, async (client) => {
        const spilled = await readSpilled(client, input.streamId, input.limit);
        const events = spilled.map((s) => s.event);
        const result = await scoreInto(client, deps, { ...input, events }, attempt);
        const remaining = await deleteSpilled(
          client,
          input.streamId,
          spilled.map((s) => s.seq),
        );
        return {
          ...result,
          consumed: events.length,
          remaining,
          lastEventId: events.at(-1)?.event_id ?? null,
        };
      });
    },

    /**
     * Announces a continue-as-new to the stream's producers (see STREAM_ROLLOVER_CHANNEL), then waits `graceMs`
     * so that signals sent before they paused reach the workflow before this activity's result does.
     */
    async announceStreamRollover(notice: StreamRolloverNotice, graceMs = 0): Promise<void> {
      await notifyRollover(deps.pool, notice);
      if (graceMs > 0) await new Promise((resolve) => setTimeout(resolve, graceMs));
    },

    /** Moves events out of the workflow into the stream's overflow queue (before continue-as-new). */
    async spillStreamEvents(input: { streamId: string; events: QueuedEvent[] }): Promise<number> {
      await spillEvents(deps.pool, input.streamId, input.events);
      return input.events.length;
    },

    /** Takes the oldest spilled events back into the workflow (when scoring them in place keeps failing). */
    async unspillStreamEvents(input: {
      streamId: string;
      limit: number;
    }): Promise<{ events: QueuedEvent[]; remaining: number }> {
      return withTransaction(deps.pool, async (client) => {
        const spilled = await readSpilled(client, input.streamId, input.limit);
        const remaining = await deleteSpilled(
          client,
          input.streamId,
          spilled.map((s) => s.seq),
        );
        return { events: spilled.map((s) => s.event), remaining };
      });
    },

    /** Records events whose scoring failed every attempt; the stream then moves on. */
    async deadLetterStreamEvents(input: {
      streamId: string;
      events: QueuedEvent[];
      error: string;
      attempts: number;
    }): Promise<void> {
      await insertDeadLetters(
        deps.pool,
        input.streamId,
        input.events.map((event) => ({ event, error: input.error, attempts: input.attempts })),
      );
    },

    /** Marks a dead letter replayed and returns its event (with a corrected record if given) for re-queueing. */
    async takeDeadLetter(input: {
      streamId: string;
      eventId: string;
      record?: FieldRecord;
    }): Promise<QueuedEvent> {
      const event = await takeDeadLetter(deps.pool, input.streamId, input.eventId);
      if (!event)
        throw fail(
          'DeadLetterNotFound',
          `stream ${input.streamId} has no pending dead letter for event ${input.eventId}`,
        );
      const { invalid: _invalid, ...rest } = event;
      return input.record ? { ...rest, record: input.record } : rest;
    },
  };
}

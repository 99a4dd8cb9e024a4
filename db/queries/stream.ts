/** SQL of the streaming mode: predictions (durable record + NOTIFY), dead letters, and reads for consumers. */
import type { FieldRecord, Prediction, Primary } from '../../contracts/scoring.js';
import {
  STREAM_PREDICTIONS_CHANNEL,
  STREAM_ROLLOVER_CHANNEL,
  type QueuedEvent,
  type StreamPrediction,
  type StreamRolloverNotice,
} from '../../contracts/stream.js';
import type { Pool, PoolClient } from '../pool.js';

type Queryable = Pool | PoolClient;

export interface PredictionRow {
  eventId: string;
  deployment: string;
  /** The record's key (as text), when the event or the deployment's key_field gives one. */
  recordKey: string | null;
  model: string;
  version: string;
  /** champion or canary (the stream's routing; a pinned stream's rows are champion). */
  role?: string;
  /** The generic prediction (predictionAt). */
  prediction: Prediction;
  primary: Primary;
  /** What consumers read (generic, or the deployment's course shape). */
  payload: StreamPrediction;
  attempts: number;
  receivedAt: string;
  /** The record as scored (streaming defaults filled in): a stream window's drift reads it. */
  features?: FieldRecord;
}

export interface StoredPrediction {
  id: string;
  stream_id: string;
  event_id: string;
  deployment: string;
  record_key: string | null;
  payload: StreamPrediction;
  attempts: number;
  received_at: Date;
  scored_at: Date;
}

export interface PersistedPrediction {
  receivedAt: number;
  primary: Primary;
  payload: StreamPrediction;
}

/** Rows already persisted for these event ids (the table's dedup guard, and proof of an earlier attempt). */
export async function findPersisted(
  db: Queryable,
  streamId: string,
  eventIds: string[],
): Promise<Map<string, PersistedPrediction>> {
  const { rows } = await db.query<{
    event_id: string;
    received_at: Date;
    primary_value: Primary;
    payload: StreamPrediction;
  }>(
    `SELECT event_id, received_at, primary_value, payload FROM stream_predictions
      WHERE stream_id = $1 AND event_id = ANY($2::text[])`,
    [streamId, eventIds],
  );
  return new Map(
    rows.map((r) => [
      r.event_id,
      { receivedAt: r.received_at.getTime(), primary: r.primary_value, payload: r.payload },
    ]),
  );
}

/** Inserts in the given order (so ids follow arrival order); a conflicting event id is skipped. Returns inserted ids. */
export async function insertPredictions(
  db: Queryable,
  streamId: string,
  rows: PredictionRow[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  const { rows: inserted } = await db.query<{ event_id: string }>(
    `INSERT INTO stream_predictions
       (stream_id, event_id, deployment, record_key, model, version, prediction, primary_value, payload, attempts,
        received_at, role, features)
     SELECT $1, e, dep, k, m, v, pr::jsonb, pv::jsonb, p::jsonb, a, t, ro, f::jsonb
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::int[], $11::timestamptz[], $12::text[], $13::text[])
            WITH ORDINALITY AS x(e, dep, k, m, v, pr, pv, p, a, t, ro, f, ord)
      ORDER BY ord
     ON CONFLICT (stream_id, event_id) DO NOTHING
     RETURNING event_id`,
    [
      streamId,
      rows.map((r) => r.eventId),
      rows.map((r) => r.deployment),
      rows.map((r) => r.recordKey),
      rows.map((r) => r.model),
      rows.map((r) => r.version),
      rows.map((r) => JSON.stringify(r.prediction)),
      rows.map((r) => JSON.stringify(r.primary)),
      rows.map((r) => JSON.stringify(r.payload)),
      rows.map((r) => r.attempts),
      rows.map((r) => r.receivedAt),
      rows.map((r) => r.role ?? 'champion'),
      rows.map((r) => (r.features ? JSON.stringify(r.features) : null)),
    ],
  );
  return inserted.map((r) => r.event_id);
}

/** Shadow scores of a stream's events, one per event and version (a retried slice writes each once). */
/** A shadow score of one event by one version (null prediction and an error when the challenger failed). */
export interface ShadowRow {
  eventId: string;
  deployment: string;
  model: string;
  version: string;
  prediction: unknown;
  primary: Primary;
  diff: number | null;
  error: string | null;
}

export async function insertShadowPredictions(
  db: Queryable,
  streamId: string,
  rows: readonly ShadowRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO stream_shadow_predictions
       (stream_id, event_id, deployment, model, version, prediction, primary_value, diff, error)
     SELECT $1, e, dep, m, v, pr::jsonb, pv::jsonb, d, er
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::text[])
            AS x(e, dep, m, v, pr, pv, d, er)
     ON CONFLICT (stream_id, event_id, version) DO NOTHING`,
    [
      streamId,
      rows.map((r) => r.eventId),
      rows.map((r) => r.deployment),
      rows.map((r) => r.model),
      rows.map((r) => r.version),
      rows.map((r) => (r.prediction === null ? null : JSON.stringify(r.prediction))),
      rows.map((r) => (r.primary === null ? null : JSON.stringify(r.primary))),
      rows.map((r) => r.diff),
      rows.map((r) => r.error),
    ],
  );
}

/** Wakes every consumer of the stream (delivered at commit). */
export async function notifyPredictions(db: Queryable, streamId: string): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [
    STREAM_PREDICTIONS_CHANNEL,
    JSON.stringify({ stream_id: streamId }),
  ]);
}

/** Tells the stream's producers that its run is handing over (`closing`) or the next run started (`open`). */
export async function notifyRollover(db: Queryable, notice: StreamRolloverNotice): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [STREAM_ROLLOVER_CHANNEL, JSON.stringify(notice)]);
}

/** Records failed events; a dead letter that fails again after a replay is updated, not duplicated. */
export async function insertDeadLetters(
  db: Queryable,
  streamId: string,
  letters: { event: QueuedEvent; error: string; attempts: number }[],
): Promise<void> {
  if (letters.length === 0) return;
  await db.query(
    `INSERT INTO dead_letters (stream_id, event_id, payload, error, attempts)
     SELECT $1, e, p::jsonb, err, a FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS x(e, p, err, a)
     ON CONFLICT (stream_id, event_id) DO UPDATE
       SET payload = EXCLUDED.payload, error = EXCLUDED.error,
           attempts = dead_letters.attempts + EXCLUDED.attempts, replayed_at = NULL`,
    [
      streamId,
      letters.map((l) => l.event.event_id),
      letters.map((l) => {
        const { replay: _replay, invalid: _invalid, ...event } = l.event;
        return JSON.stringify(event);
      }),
      letters.map((l) => l.error),
      letters.map((l) => l.attempts),
    ],
  );
}

/** Marks a dead letter replayed and returns its event; undefined when there is none (or it is already replayed). */
export async function takeDeadLetter(
  db: Queryable,
  streamId: string,
  eventId: string,
): Promise<QueuedEvent | undefined> {
  const { rows } = await db.query<{ payload: QueuedEvent }>(
    `UPDATE dead_letters SET replayed_at = now()
      WHERE stream_id = $1 AND event_id = $2 AND replayed_at IS NULL
      RETURNING payload`,
    [streamId, eventId],
  );
  return rows[0]?.payload;
}

export interface DeadLetterRow {
  stream_id: string;
  event_id: string;
  payload: QueuedEvent;
  error: string;
  attempts: number;
  created_at: Date;
  replayed_at: Date | null;
}

export async function listDeadLetters(
  db: Queryable,
  streamId: string,
  limit = 100,
): Promise<DeadLetterRow[]> {
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT stream_id, event_id, payload, error, attempts, created_at, replayed_at
       FROM dead_letters WHERE stream_id = $1 ORDER BY id LIMIT $2`,
    [streamId, limit],
  );
  return rows;
}

/** Predictions of one stream after `afterId` (exclusive), oldest first: how SSE consumers catch up. */
export async function readPredictionsAfter(
  db: Queryable,
  streamId: string,
  afterId: string,
  limit = 500,
): Promise<StoredPrediction[]> {
  const { rows } = await db.query<StoredPrediction>(
    `SELECT p.id::text AS id, stream_id, event_id, deployment, record_key, payload, attempts, received_at, scored_at
       FROM stream_predictions p WHERE p.stream_id = $1 AND p.id > $2::bigint ORDER BY p.id LIMIT $3`,
    [streamId, afterId, limit],
  );
  return rows;
}

/** Appends events to the stream's overflow queue, in order. */
export async function spillEvents(db: Queryable, streamId: string, events: QueuedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO stream_queue (stream_id, event)
     SELECT $1, e::jsonb FROM unnest($2::text[]) WITH ORDINALITY AS x(e, ord) ORDER BY ord`,
    [streamId, events.map((e) => JSON.stringify(e))],
  );
}

/** The oldest spilled events, locked for this transaction. */
export async function readSpilled(
  db: Queryable,
  streamId: string,
  limit: number,
): Promise<{ seq: string; event: QueuedEvent }[]> {
  const { rows } = await db.query<{ seq: string; event: QueuedEvent }>(
    `SELECT seq::text AS seq, event FROM stream_queue q WHERE q.stream_id = $1 ORDER BY q.seq LIMIT $2 FOR UPDATE`,
    [streamId, limit],
  );
  return rows;
}

/** Deletes consumed spilled events; returns how many remain for the stream. */
export async function deleteSpilled(db: Queryable, streamId: string, seqs: string[]): Promise<number> {
  await db.query('DELETE FROM stream_queue WHERE stream_id = $1 AND seq = ANY($2::bigint[])', [
    streamId,
    seqs,
  ]);
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM stream_queue WHERE stream_id = $1',
    [streamId],
  );
  return rows[0]?.n ?? 0;
}

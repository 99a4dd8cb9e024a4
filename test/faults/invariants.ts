/**
 * Invariants checked from the database after every fault scenario. Primary keys make `duplicated` impossible to
 * be non-zero; it stays as a guard against a schema change. What consumers received is in consumers.ts.
 */
import type { Pool } from '../../db/pool.js';

export interface Outcome {
  expected: number;
  done: number;
  lost: number;
  duplicated: number;
  detail: string;
}

/** Every ride of the partition has exactly one prediction or one rejection for the version. */
export async function batchOutcome(
  pool: Pool,
  partition: { from: string; to: string },
  version: string,
): Promise<Outcome> {
  const { rows } = await pool.query<{
    expected: number;
    predicted: number;
    rejected: number;
    both: number;
    neither: number;
    dup: number;
  }>(
    `WITH part AS (
       SELECT ride_id FROM rides WHERE pickup_datetime >= $1::timestamp AND pickup_datetime < $2::timestamp
     ),
     p AS (SELECT ride_id FROM predictions WHERE model_name = 'ride-duration' AND model_version = $3),
     r AS (SELECT ride_id FROM rejected_rows WHERE model_name = 'ride-duration' AND model_version = $3)
     SELECT
       (SELECT count(*)::int FROM part) AS expected,
       (SELECT count(*)::int FROM part JOIN p USING (ride_id)) AS predicted,
       (SELECT count(*)::int FROM part JOIN r USING (ride_id)) AS rejected,
       (SELECT count(*)::int FROM part JOIN p USING (ride_id) JOIN r USING (ride_id)) AS both,
       (SELECT count(*)::int FROM part WHERE ride_id NOT IN (SELECT ride_id FROM p UNION ALL SELECT ride_id FROM r)) AS neither,
       (SELECT count(*)::int - count(DISTINCT ride_id)::int FROM p) AS dup`,
    [partition.from, partition.to, version],
  );
  const r = rows[0];
  if (!r) throw new Error('invariant query returned nothing');
  return {
    expected: r.expected,
    done: r.predicted + r.rejected - r.both,
    lost: r.neither,
    duplicated: r.both + r.dup,
    detail: `${r.predicted} predicted, ${r.rejected} rejected`,
  };
}

/** Every accepted event is persisted exactly once or sits in dead_letters. */
export async function streamOutcome(
  pool: Pool,
  streamId: string,
  acceptedIds: readonly string[],
): Promise<Outcome> {
  const { rows } = await pool.query<{ event_id: string; n: number; dead: number }>(
    `SELECT e.event_id,
            (SELECT count(*)::int FROM stream_predictions sp WHERE sp.stream_id = $1 AND sp.event_id = e.event_id) AS n,
            (SELECT count(*)::int FROM dead_letters d WHERE d.stream_id = $1 AND d.event_id = e.event_id) AS dead
       FROM unnest($2::text[]) AS e(event_id)`,
    [streamId, acceptedIds],
  );
  let lost = 0;
  let duplicated = 0;
  let persisted = 0;
  let dead = 0;
  for (const row of rows) {
    if (row.n + row.dead === 0) lost += 1;
    if (row.n > 1 || (row.n === 1 && row.dead > 0)) duplicated += 1;
    persisted += Math.min(row.n, 1);
    dead += row.n === 0 && row.dead > 0 ? 1 : 0;
  }
  return {
    expected: acceptedIds.length,
    done: persisted + dead,
    lost,
    duplicated,
    detail: `${persisted} persisted, ${dead} dead letters`,
  };
}

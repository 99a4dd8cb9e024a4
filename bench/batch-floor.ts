/**
 * The COPY floor of `bench:batch`: the least Postgres work a batch run over the partition can do, measured the way
 * the workflow moves rows (binary COPY, as many connections as chunks in flight). Out: the partition's rows, the
 * columns and order a run reads, split into key ranges, one per connection, all at once. In: as many
 * prediction-shaped rows into a copy of `predictions` (same PRIMARY KEY and indexes), again one COPY per
 * connection at once. Building the rows in between is not timed: the floor is Postgres' part only.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import type { ResolvedModel } from '../contracts/scoring.js';
import type { Pool, PoolClient } from '../db/pool.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]); // flags 0, no header extension
const TRAILER = Buffer.from([0xff, 0xff]);

// COPY takes no bind parameters: the bounds travel as bound values of set_config, the COPY text stays constant.
const SET_BOUNDS = `SELECT set_config('floor.from', $1, false), set_config('floor.to', $2, false),
  set_config('floor.start_ts', $3, false), set_config('floor.start_id', $4, false),
  set_config('floor.end_ts', $5, false), set_config('floor.end_id', $6, false)`;
const COPY_OUT = `COPY (
  SELECT ride_id, pickup_datetime, pu_location_id, do_location_id, trip_distance, actual_duration FROM rides
  WHERE pickup_datetime >= current_setting('floor.from')::timestamp
    AND pickup_datetime < current_setting('floor.to')::timestamp
    AND (pickup_datetime, ride_id) >= (current_setting('floor.start_ts')::timestamp, current_setting('floor.start_id'))
    AND (pickup_datetime, ride_id) < (current_setting('floor.end_ts')::timestamp, current_setting('floor.end_id'))
  ORDER BY pickup_datetime, ride_id
) TO STDOUT (FORMAT binary)`;
const COPY_IN = `COPY predictions_floor (ride_id, model_name, model_version, predicted_duration, actual_duration,
  diff, run_id) FROM STDIN (FORMAT binary)`;

export interface FloorResult {
  outMs: number;
  inMs: number;
  rows: number;
  connections: number;
}

interface Key {
  ts: string;
  id: string;
}

/** Keys that cut the partition into `parts` ranges of about equal size (the first range starts at -infinity). */
async function splitKeys(pool: Pool, day: { from: string; to: string }, parts: number): Promise<Key[]> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM rides WHERE pickup_datetime >= $1 AND pickup_datetime < $2',
    [day.from, day.to],
  );
  const n = Number(rows[0]?.n ?? 0);
  const keys: Key[] = [];
  for (let i = 1; i < parts; i++) {
    const r = await pool.query<Key>(
      `SELECT pickup_datetime::text AS ts, ride_id AS id FROM rides
       WHERE pickup_datetime >= $1 AND pickup_datetime < $2
       ORDER BY pickup_datetime, ride_id OFFSET $3 LIMIT 1`,
      [day.from, day.to, Math.floor((n * i) / parts)],
    );
    if (r.rows[0]) keys.push(r.rows[0]);
  }
  return keys;
}

async function copyOut(client: PoolClient, day: { from: string; to: string }, start?: Key, end?: Key) {
  await client.query(SET_BOUNDS, [
    day.from,
    day.to,
    start?.ts ?? '-infinity',
    start?.id ?? '',
    end?.ts ?? 'infinity',
    end?.id ?? '',
  ]);
  const parts: Buffer[] = [];
  await pipeline(
    client.query(copyStreams.to(COPY_OUT)),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(parts);
}

/** Prediction rows for every ride of a binary COPY-out stream: its id and actual, constant prediction. */
function predictionRows(out: Buffer, model: ResolvedModel): { copy: Buffer; rows: number } {
  const text = (s: string) => {
    const b = Buffer.from(s);
    const l = Buffer.alloc(4);
    l.writeInt32BE(b.length);
    return Buffer.concat([l, b]);
  };
  const modelFields = Buffer.concat([text(model.name), text(model.version)]);
  const run = text('floor');
  const chunks: Buffer[] = [HEADER];
  let o = HEADER.length + out.readInt32BE(SIGNATURE.length + 4);
  let rows = 0;
  for (;;) {
    const fields = out.readInt16BE(o);
    if (fields === -1) break;
    o += 2;
    const field = () => {
      const len = out.readInt32BE(o);
      const start = o;
      o += 4 + Math.max(len, 0);
      return { len, bytes: out.subarray(start, o) };
    };
    const id = field();
    for (let i = 0; i < 4; i++) field(); // pickup, zones, distance
    const actual = field();
    const row = Buffer.alloc(2 + 12 + (actual.len < 0 ? 4 : 12) + (actual.len < 0 ? 4 : 12));
    row.writeInt16BE(7, 0);
    row.writeInt32BE(8, 2);
    row.writeDoubleBE(12.5, 6);
    actual.bytes.copy(row, 14);
    if (actual.len < 0) row.writeInt32BE(-1, 18);
    else {
      row.writeInt32BE(8, 26);
      row.writeDoubleBE(1.5, 30);
    }
    // Column order: ride_id, model_name, model_version, predicted, actual, diff, run_id.
    chunks.push(row.subarray(0, 2), id.bytes, modelFields, row.subarray(2), run);
    rows++;
  }
  chunks.push(TRAILER);
  return { copy: Buffer.concat(chunks), rows };
}

/** Measures the floor over `connections` connections (the workflow's chunks in flight), rows of `model`. */
export async function copyFloor(
  pool: Pool,
  day: { from: string; to: string },
  connections: number,
  model: ResolvedModel,
): Promise<FloorResult> {
  await pool.query('DROP TABLE IF EXISTS predictions_floor');
  await pool.query('CREATE TABLE predictions_floor (LIKE predictions INCLUDING ALL)');
  const keys = await splitKeys(pool, day, connections);
  const ranges = Array.from({ length: keys.length + 1 }, (_, i) => ({ start: keys[i - 1], end: keys[i] }));
  const lanes = await Promise.all(ranges.map(async (range) => ({ range, client: await pool.connect() })));
  try {
    const t0 = performance.now();
    const outs = await Promise.all(lanes.map((l) => copyOut(l.client, day, l.range.start, l.range.end)));
    const t1 = performance.now();
    const ins = outs.map((out) => predictionRows(out, model));
    const t2 = performance.now();
    await Promise.all(
      lanes.map((l, i) =>
        pipeline(Readable.from([ins[i]?.copy ?? Buffer.alloc(0)]), l.client.query(copyStreams.from(COPY_IN))),
      ),
    );
    const t3 = performance.now();
    return {
      outMs: t1 - t0,
      inMs: t3 - t2,
      rows: ins.reduce((s, p) => s + p.rows, 0),
      connections: lanes.length,
    };
  } finally {
    for (const l of lanes) l.client.release();
  }
}

/**
 * Reads ride events for `npm run stream -- send` from a TLC parquet file (real rides, ride_id `YYYY/MM_<row>` as in
 * `rides`) or a JSON-lines file (one event `{"ride": {...}, "ride_id": ...}` or one flat ride row per line).
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { DecodedArray } from 'hyparquet';
import type { RideEvent } from '../adapters/ride-duration/stream.js';
import { openParquet, readColumnBatches } from '../data/parquet-reader.js';

export interface ReadOptions {
  batchSize: number;
  /** Stop after this many events. */
  limit?: number;
}

/** Naive local microseconds (as hyparquet decodes TLC timestamps) to `YYYY-MM-DDTHH:MM:SS`. */
export function naiveMicrosToText(us: number): string {
  return new Date(us / 1000).toISOString().slice(0, 19);
}

const num = (col: DecodedArray | undefined, i: number): number | null => {
  const v: unknown = col?.[i];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
};

async function* fromParquet(file: string, options: ReadOptions): AsyncGenerator<RideEvent[]> {
  const opened = await openParquet(file);
  const pickup = opened.columnNames.includes('tpep_pickup_datetime')
    ? 'tpep_pickup_datetime'
    : 'lpep_pickup_datetime';
  const month = /_tripdata_(\d{4})-(\d{2})\.parquet$/i.exec(path.basename(file));
  const prefix = month ? `${month[1]}/${month[2]}` : path.basename(file, '.parquet');
  const columns = ['PULocationID', 'DOLocationID', 'trip_distance', pickup];
  let sent = 0;
  for await (const batch of readColumnBatches(opened, { columns, batchSize: options.batchSize })) {
    const [pu, dout, dist, at] = columns.map((c) => batch.columns.get(c));
    const events: RideEvent[] = [];
    for (let i = 0; i < batch.rowEnd - batch.rowStart; i++) {
      if (options.limit !== undefined && sent >= options.limit) break;
      const micros = num(at, i);
      events.push({
        ride_id: `${prefix}_${batch.rowStart + i}`,
        ride: {
          PULocationID: num(pu, i) ?? undefined,
          DOLocationID: num(dout, i) ?? undefined,
          trip_distance: num(dist, i) ?? undefined,
          ...(micros !== null ? { pickup_datetime: naiveMicrosToText(micros) } : {}),
        },
      });
      sent += 1;
    }
    if (events.length > 0) yield events;
    if (options.limit !== undefined && sent >= options.limit) return;
  }
}

/** A line is an event when it has a `ride` object; otherwise the line is the ride itself. */
export function lineToEvent(value: unknown, index: number): RideEvent {
  const row = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof row.ride === 'object' && row.ride !== null) return row as unknown as RideEvent;
  const { ride_id: rideId, event_id: eventId, ...ride } = row;
  return {
    ride,
    ride_id: typeof rideId === 'string' || typeof rideId === 'number' ? rideId : index,
    ...(typeof eventId === 'string' ? { event_id: eventId } : {}),
  };
}

async function* fromJsonLines(file: string, options: ReadOptions): AsyncGenerator<RideEvent[]> {
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let batch: RideEvent[] = [];
  let index = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    if (options.limit !== undefined && index >= options.limit) break;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}: line ${index + 1} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    batch.push(lineToEvent(value, index++));
    if (batch.length >= options.batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Event batches of at most `batchSize`, in file order. */
export function readEventBatches(file: string, options: ReadOptions): AsyncGenerator<RideEvent[]> {
  return file.endsWith('.parquet') ? fromParquet(file, options) : fromJsonLines(file, options);
}

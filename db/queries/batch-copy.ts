/**
 * COPY binary codec of batch scoring: decodes a page of rides and encodes prediction rows. Binary COPY spares both
 * sides the text form of every number and timestamp (Postgres' float8in/out and timestamp_out, JS number
 * formatting and parsing), and builds no per-row object besides the scorer's input.
 * Format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
import type { RideKey } from '../../contracts/batch.js';
import type { RideInput } from '../../contracts/scoring.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8; // signature, flags, header extension length
/** Binary timestamps count microseconds from 2000-01-01 00:00:00. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** One page of rides in key order, column by column: what the scorer reads plus what the load needs. */
export interface RidePage {
  /** The scorer's input; a NULL column stays null so the scorer rejects the row naming the field. */
  rides: RideInput[];
  ids: string[];
  /** `actual_duration`, NaN where it is NULL. */
  actual: Float64Array;
  /** Key of the last row (the resume point), undefined for an empty page. */
  last: RideKey | undefined;
}

/** The naive `YYYY-MM-DDTHH:MM:SS[.ffffff]` text Postgres itself prints (with a T), so keys round-trip exactly. */
export function formatTimestamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const text = new Date(PG_EPOCH_MS + ms).toISOString().slice(0, 19);
  const fraction = micros - Math.floor(micros / 1e6) * 1e6;
  return fraction === 0 ? text : `${text}.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`;
}

/**
 * Decodes `COPY (SELECT ride_id, pickup_datetime, pu_location_id, do_location_id, trip_distance,
 * actual_duration ...) TO STDOUT (FORMAT binary)`: text, timestamp, int4, int4, float8, float8.
 */
export function decodeRidePage(buf: Buffer): RidePage {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE))
    throw new Error('not a COPY binary stream');
  const rides: RideInput[] = [];
  const ids: string[] = [];
  const actuals: number[] = [];
  let o = HEADER_BYTES + buf.readInt32BE(SIGNATURE.length + 4);
  let lastMicros = NaN;
  let lastText = '';
  const field = () => {
    const len = buf.readInt32BE(o);
    o += 4;
    return len;
  };
  const int4 = () => {
    const len = field();
    if (len < 0) return null;
    o += 4;
    return buf.readInt32BE(o - 4);
  };
  const float8 = () => {
    const len = field();
    if (len < 0) return null;
    o += 8;
    return buf.readDoubleBE(o - 8);
  };
  for (;;) {
    const fields = buf.readInt16BE(o);
    o += 2;
    if (fields === -1) break;
    if (fields !== 6) throw new Error(`expected 6 columns, got ${fields}`);
    const idLen = field();
    const id = buf.toString('utf8', o, o + idLen);
    o += idLen;
    field(); // timestamp, NOT NULL, 8 bytes
    const micros = buf.readInt32BE(o) * 2 ** 32 + buf.readUInt32BE(o + 4);
    o += 8;
    // Rows come in time order, so neighbours often share a timestamp: format each distinct one once.
    if (micros !== lastMicros) {
      lastMicros = micros;
      lastText = formatTimestamp(micros);
    }
    const pu = int4();
    const dropoff = int4();
    const distance = float8();
    actuals.push(float8() ?? NaN);
    ids.push(id);
    rides.push({
      PULocationID: pu,
      DOLocationID: dropoff,
      trip_distance: distance,
      pickup_datetime: lastText,
    } as RideInput);
  }
  const lastId = ids[ids.length - 1];
  return {
    rides,
    ids,
    actual: Float64Array.from(actuals),
    last: lastId === undefined ? undefined : { ts: lastText, id: lastId },
  };
}

/** Prediction rows as COPY binary, columns `ride_id, model_name, model_version, predicted, actual, diff, run_id`. */
export class PredictionCopy {
  private buf: Buffer;
  private at: number;
  private readonly model: Buffer;
  private readonly run: Buffer;
  rows = 0;

  constructor(meta: { modelName: string; modelVersion: string; runId: string }, expectedRows: number) {
    const withLength = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      const out = Buffer.allocUnsafe(4 + b.length);
      out.writeInt32BE(b.length, 0);
      b.copy(out, 4);
      return out;
    };
    this.model = Buffer.concat([withLength(meta.modelName), withLength(meta.modelVersion)]);
    this.run = withLength(meta.runId);
    this.buf = Buffer.allocUnsafe(
      HEADER_BYTES + 2 + expectedRows * (64 + this.model.length + this.run.length),
    );
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, SIGNATURE.length); // flags: no OIDs
    this.buf.writeInt32BE(0, SIGNATURE.length + 4); // no header extension
    this.at = HEADER_BYTES;
  }

  /** Appends one row; `actual` null (or NaN) writes NULL actual and diff. Returns the diff, or null. */
  add(rideId: string, predicted: number, actual: number | null): number | null {
    const known = actual !== null && !Number.isNaN(actual);
    // Upper bound of the row: 3 bytes per UTF-16 unit of the id, 3 x (length + float8), the constant columns.
    this.ensure(2 + 4 + rideId.length * 3 + this.model.length + 36 + this.run.length);
    const b = this.buf;
    let o = b.writeInt16BE(7, this.at);
    const idLen = b.write(rideId, o + 4, 'utf8');
    o = b.writeInt32BE(idLen, o) + idLen;
    o += this.model.copy(b, o);
    o = b.writeInt32BE(8, o);
    o = b.writeDoubleBE(predicted, o);
    let diff: number | null = null;
    if (known) {
      diff = predicted - actual;
      o = b.writeInt32BE(8, o);
      o = b.writeDoubleBE(actual, o);
      o = b.writeInt32BE(8, o);
      o = b.writeDoubleBE(diff, o);
    } else {
      o = b.writeInt32BE(-1, o);
      o = b.writeInt32BE(-1, o);
    }
    o += this.run.copy(b, o);
    this.at = o;
    this.rows++;
    return diff;
  }

  /** The complete stream (with its trailer); the builder must not be used afterwards. */
  finish(): Buffer {
    this.ensure(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    return this.buf.subarray(0, this.at);
  }

  private ensure(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}

/**
 * COPY binary codec of batch scoring: decodes a page of source rows into the scorer's records and encodes the
 * sink rows. Binary COPY spares both sides the text form of every number and timestamp (Postgres' float8in/out
 * and timestamp_out, JS number formatting and parsing); the key travels as its raw bytes from the page to the sink
 * (same column type), so it is never decoded except for resume points and rejections.
 * Format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
import type { PageKey } from '../../contracts/batch.js';
import type { FieldRecord } from '../../contracts/scoring.js';
import type { KeyType, ReadableType, SourceLayout } from './batch-tables.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8; // signature, flags, header extension length
/** Binary timestamps count microseconds from 2000-01-01 00:00:00; dates count days from it. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;

/** The naive `YYYY-MM-DDTHH:MM:SS[.ffffff]` text Postgres itself prints (with a T), so keys survive the way back to SQL unchanged. */
export function formatTimestamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const text = new Date(PG_EPOCH_MS + ms).toISOString().slice(0, 19);
  const fraction = micros - Math.floor(micros / 1e6) * 1e6;
  return fraction === 0 ? text : `${text}.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`;
}

/** Which COPY columns feed which record field, and which one holds the label. */
export interface PageReads {
  /** Record field name -> COPY column index (0 key, 1 event time when present, then layout.columns). */
  fields: { name: string; column: number }[];
  label?: { column: number; numeric: boolean };
}

/** One page of source rows in page order. */
export interface Page {
  count: number;
  /** The scorer's input; a NULL column stays null so the scorer rejects (or defaults) the field. */
  records: FieldRecord[];
  /** The COPY stream the keys point into: `keyAt[i]`, `keyLength[i]` are row i's key bytes. */
  buffer: Buffer;
  keyAt: Int32Array;
  keyLength: Int32Array;
  /** Numeric labels (NaN where NULL) or class labels (null where NULL); absent without labels. */
  numericLabels?: Float64Array;
  labels?: (string | number | null)[];
  /** Position of the last row (the resume point), undefined for an empty page. */
  last: PageKey | undefined;
}

/** The key of row `i` as text (what the SQL casts back to the key's type). */
export function keyText(page: Page, type: KeyType, i: number): string {
  return decodeKey(page.buffer, page.keyAt[i] ?? 0, page.keyLength[i] ?? 0, type);
}

function decodeKey(buf: Buffer, at: number, len: number, type: KeyType): string {
  switch (type) {
    case 'int2':
      return String(buf.readInt16BE(at));
    case 'int4':
      return String(buf.readInt32BE(at));
    case 'int8':
      return buf.readBigInt64BE(at).toString();
    case 'uuid': {
      const h = buf.toString('hex', at, at + 16);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    default:
      return buf.toString('utf8', at, at + len);
  }
}

/** Per-column decoder state: timestamps of neighbouring rows are often equal, so each is formatted once. */
interface ColumnState {
  type: ReadableType;
  lastMicros: number;
  lastText: string;
}

function readValue(buf: Buffer, o: number, len: number, s: ColumnState): unknown {
  switch (s.type) {
    case 'int2':
      return buf.readInt16BE(o);
    case 'int4':
      return buf.readInt32BE(o);
    case 'int8':
      return Number(buf.readBigInt64BE(o));
    case 'float4':
      return buf.readFloatBE(o);
    case 'float8':
      return buf.readDoubleBE(o);
    case 'numeric': // selected as text (see readPage): its binary form is base-10000 digits
      return Number(buf.toString('latin1', o, o + len));
    case 'bool':
      return buf[o] === 1;
    case 'timestamp':
    case 'timestamptz': {
      const micros = buf.readInt32BE(o) * 2 ** 32 + buf.readUInt32BE(o + 4);
      if (micros !== s.lastMicros) {
        s.lastMicros = micros;
        s.lastText = s.type === 'timestamp' ? formatTimestamp(micros) : `${formatTimestamp(micros)}Z`;
      }
      return s.lastText;
    }
    case 'date':
      return `${new Date(PG_EPOCH_MS + buf.readInt32BE(o) * DAY_MS).toISOString().slice(0, 10)}T00:00:00`;
    default:
      return buf.toString('utf8', o, o + len);
  }
}

/** Decodes `COPY (SELECT key, [event time,] columns... ) TO STDOUT (FORMAT binary)` of `layout`. */
export function decodePage(buf: Buffer, layout: SourceLayout, reads: PageReads): Page {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE))
    throw new Error('not a COPY binary stream');
  const types: ReadableType[] = [
    ...(layout.eventTime ? [layout.eventTime.type] : []),
    ...layout.columns.map((c) => c.type),
  ];
  const width = 1 + types.length;
  const states: ColumnState[] = types.map((type) => ({ type, lastMicros: NaN, lastText: '' }));
  const values: unknown[] = new Array<unknown>(width).fill(null);
  const fields = reads.fields;
  const label = reads.label;
  const records: FieldRecord[] = [];
  const keyAt: number[] = [];
  const keyLength: number[] = [];
  const numeric: number[] = [];
  const labels: (string | number | null)[] = [];
  let o = HEADER_BYTES + buf.readInt32BE(SIGNATURE.length + 4);
  for (;;) {
    const n = buf.readInt16BE(o);
    o += 2;
    if (n === -1) break;
    if (n !== width) throw new Error(`expected ${width} columns, got ${n}`);
    const klen = buf.readInt32BE(o);
    keyAt.push(o + 4);
    keyLength.push(klen);
    o += 4 + klen;
    for (let c = 1; c < width; c++) {
      const len = buf.readInt32BE(o);
      o += 4;
      if (len < 0) values[c] = null;
      else {
        values[c] = readValue(buf, o, len, states[c - 1] as ColumnState);
        o += len;
      }
    }
    // Fields are set in the same order on every row, so every record shares one shape.
    const record: Record<string, unknown> = {};
    for (let f = 0; f < fields.length; f++) {
      const field = fields[f] as { name: string; column: number };
      record[field.name] = values[field.column];
    }
    records.push(record);
    if (label) {
      const v = values[label.column];
      if (label.numeric) numeric.push(typeof v === 'number' ? v : NaN);
      else
        labels.push(
          typeof v === 'number' || typeof v === 'string'
            ? v
            : v === null || v === undefined
              ? null
              : JSON.stringify(v),
        );
    }
  }
  const count = records.length;
  const page: Page = {
    count,
    records,
    buffer: buf,
    keyAt: Int32Array.from(keyAt),
    keyLength: Int32Array.from(keyLength),
    last: undefined,
    ...(label ? (label.numeric ? { numericLabels: Float64Array.from(numeric) } : { labels }) : {}),
  };
  if (count > 0) {
    const key = keyText(page, layout.key.type, count - 1);
    page.last = layout.eventTime ? { time: states[0]?.lastText ?? '', key } : { key };
  }
  return page;
}

/** The binary form of each sink value column. */
export type SinkValueKind = 'float8' | 'text' | 'int8' | 'jsonb';

/**
 * Sink rows as COPY binary, columns `key, model_name, model_version, values..., run_id`: per row `begin`, one
 * writer call per value column in order, `end`. The buffer grows as needed (one Buffer for the whole batch).
 */
/**
 * Copies `length` bytes to `to` at `at`; returns the end. A loop for the few bytes of a row's key and fixed fields:
 * Buffer#copy makes a view per call, which costs more than the bytes themselves at this size.
 */
function copyBytes(from: Buffer, start: number, length: number, to: Buffer, at: number): number {
  if (length > 64) return at + from.copy(to, at, start, start + length);
  for (let i = 0; i < length; i++) to[at + i] = from[start + i] ?? 0;
  return at + length;
}

export class SinkCopy {
  private buf: Buffer;
  private at: number;
  private readonly model: Buffer;
  private readonly run: Buffer;
  private readonly fieldCount: number;
  rows = 0;

  constructor(
    meta: { modelName: string; modelVersion: string; runId: string },
    values: number,
    expectedRows: number,
  ) {
    const withLength = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      const out = Buffer.allocUnsafe(4 + b.length);
      out.writeInt32BE(b.length, 0);
      b.copy(out, 4);
      return out;
    };
    this.model = Buffer.concat([withLength(meta.modelName), withLength(meta.modelVersion)]);
    this.run = withLength(meta.runId);
    this.fieldCount = 4 + values;
    this.buf = Buffer.allocUnsafe(
      HEADER_BYTES + 2 + expectedRows * (48 + 12 * values + this.model.length + this.run.length),
    );
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, SIGNATURE.length); // flags: no OIDs
    this.buf.writeInt32BE(0, SIGNATURE.length + 4); // no header extension
    this.at = HEADER_BYTES;
  }

  /** Starts a row with the key's raw bytes (as read from the source) and the model columns. */
  begin(source: Buffer, keyAt: number, keyLength: number): void {
    this.ensure(6 + keyLength + this.model.length);
    const b = this.buf;
    let o = b.writeInt16BE(this.fieldCount, this.at);
    o = b.writeInt32BE(keyLength, o);
    o = copyBytes(source, keyAt, keyLength, b, o);
    this.at = copyBytes(this.model, 0, this.model.length, b, o);
  }

  /** A double; null or NaN writes NULL. */
  float8(v: number | null): void {
    this.ensure(12);
    if (v === null || Number.isNaN(v)) this.at = this.buf.writeInt32BE(-1, this.at);
    else this.at = this.buf.writeDoubleBE(v, this.buf.writeInt32BE(8, this.at));
  }

  int8(v: number | null): void {
    this.ensure(12);
    if (v === null || Number.isNaN(v)) this.at = this.buf.writeInt32BE(-1, this.at);
    else this.at = this.buf.writeBigInt64BE(BigInt(v), this.buf.writeInt32BE(8, this.at));
  }

  text(v: string | null): void {
    if (v === null) return this.null();
    this.ensure(4 + v.length * 3);
    const len = this.buf.write(v, this.at + 4, 'utf8');
    this.at = this.buf.writeInt32BE(len, this.at) + len;
  }

  /** jsonb's binary form: version byte 1, then the JSON text. */
  jsonb(json: string | null): void {
    if (json === null) return this.null();
    this.ensure(5 + json.length * 3);
    const len = this.buf.write(json, this.at + 5, 'utf8');
    this.at = this.buf.writeInt32BE(len + 1, this.at);
    this.buf[this.at] = 1;
    this.at += 1 + len;
  }

  null(): void {
    this.ensure(4);
    this.at = this.buf.writeInt32BE(-1, this.at);
  }

  end(): void {
    this.ensure(this.run.length);
    this.at = copyBytes(this.run, 0, this.run.length, this.buf, this.at);
    this.rows++;
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

/**
 * A card's signature compiled into one validator: every record is checked field by field in signature order (the
 * first bad field is the row's rejection, naming the field and the reason), and the values of the valid rows are
 * gathered into one column per field, so feature rules read typed arrays and no per-row object is built.
 */
import type { FieldRecord, Rejection } from '../contracts/scoring.js';
import type { FieldSpec } from './model-card.js';
import { localTimeOf, parseTimestamp, TIMESTAMP_FORMAT, type LocalTime } from './timestamp.js';

/** Local calendar fields of a timestamp column, one entry per valid row. */
export interface TimeColumn {
  kind: 'time';
  year: Int16Array;
  month: Int8Array;
  day: Int8Array;
  hour: Int8Array;
  minute: Int8Array;
  second: Int8Array;
}
/** integer, number and boolean fields (NaN for a null of a nullable field; booleans as 0/1). */
export interface NumberColumn {
  kind: 'number';
  values: Float64Array;
}
export interface StringColumn {
  kind: 'string';
  values: (string | null)[];
}
export type FieldColumn = TimeColumn | NumberColumn | StringColumn;

export interface PreparedRecords {
  /** `valid[k]` is the index in the input of the k-th valid record. */
  valid: Int32Array;
  count: number;
  columns: Map<string, FieldColumn>;
  rejections: Rejection[];
}

/** The offending value for a rejection reason: never throws (bigint, cycles), never long. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

function range(f: FieldSpec): string {
  if (f.min !== undefined && f.max !== undefined) return ` from ${f.min} to ${f.max}`;
  if (f.min !== undefined) return ` >= ${f.min}`;
  if (f.max !== undefined) return ` <= ${f.max}`;
  return '';
}

/** What a valid value of the field looks like, for messages and docs. */
export function expectation(f: FieldSpec): string {
  const list = (values: readonly (string | number)[]) => values.map((v) => JSON.stringify(v)).join(', ');
  switch (f.type) {
    case 'integer':
      return f.allowed ? `must be one of ${list(f.allowed)}` : `must be an integer${range(f)}`;
    case 'number':
      return `must be a finite number${f.unit ? ` of ${f.unit}` : ''}${range(f)}`;
    case 'string':
      return f.allowed ? `must be one of ${list(f.allowed)}` : 'must be a string';
    case 'boolean':
      return 'must be true or false';
    case 'timestamp':
      return `must be a string ${TIMESTAMP_FORMAT}`;
  }
}

/** One field's check: writes the value of valid row `k` into its column, or returns the reason it is invalid. */
type Check = (value: unknown, k: number) => string | null;

interface CompiledField {
  spec: FieldSpec;
  names: string[];
  column: FieldColumn;
  check: Check;
  /** Applies the default / null rule for a missing value; null = the value is required. */
  missing: ((k: number) => void) | null;
}

function newColumn(f: FieldSpec, n: number): FieldColumn {
  if (f.type === 'timestamp')
    return {
      kind: 'time',
      year: new Int16Array(n),
      month: new Int8Array(n),
      day: new Int8Array(n),
      hour: new Int8Array(n),
      minute: new Int8Array(n),
      second: new Int8Array(n),
    };
  if (f.type === 'string') return { kind: 'string', values: new Array<string | null>(n).fill(null) };
  return { kind: 'number', values: new Float64Array(n) };
}

function setTime(c: TimeColumn, k: number, t: LocalTime): void {
  c.year[k] = t.year;
  c.month[k] = t.month;
  c.day[k] = t.day;
  c.hour[k] = t.hour;
  c.minute[k] = t.minute;
  c.second[k] = t.second;
}

function compileCheck(f: FieldSpec, column: FieldColumn): Check {
  const expected = expectation(f);
  const min = f.min ?? -Infinity;
  const max = f.max ?? Infinity;
  const allowed = f.allowed ? new Set<unknown>(f.allowed) : null;
  if (column.kind === 'number') {
    const out = column.values;
    if (f.type === 'boolean')
      return (v, k) => {
        if (typeof v !== 'boolean') return `${expected} (got ${shown(v)})`;
        out[k] = v ? 1 : 0;
        return null;
      };
    const integer = f.type === 'integer';
    return (v, k) => {
      const x = typeof v === 'bigint' && integer ? Number(v) : v;
      if (
        typeof x !== 'number' ||
        !Number.isFinite(x) ||
        (integer && !Number.isSafeInteger(x)) ||
        x < min ||
        x > max ||
        (allowed !== null && !allowed.has(x))
      )
        return `${expected} (got ${shown(v)})`;
      out[k] = x;
      return null;
    };
  }
  if (column.kind === 'string') {
    const out = column.values;
    const maxLength = f.max_length ?? Infinity;
    return (v, k) => {
      if (typeof v !== 'string') return `${expected} (got ${shown(v)})`;
      if (v.length > maxLength) return `must be at most ${maxLength} characters (got ${v.length})`;
      if (allowed !== null && !allowed.has(v)) return `${expected} (got ${shown(v)})`;
      out[k] = v;
      return null;
    };
  }
  const timeZone = f.time_zone ?? 'UTC';
  // Neighbouring rows often share a timestamp (batch pages come in time order): parse each distinct text once.
  let lastText = '';
  let last: LocalTime | string = '';
  return (v, k) => {
    let text = v;
    if (v instanceof Date) text = Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
    if (typeof text !== 'string') return `${expected} (got ${typeof v})`;
    if (text !== lastText) {
      lastText = text;
      last = parseTimestamp(text, timeZone);
    }
    if (typeof last === 'string') return `${last} (got ${shown(text)})`;
    setTime(column, k, last);
    return null;
  };
}

function compileMissing(f: FieldSpec, column: FieldColumn, now: () => number): ((k: number) => void) | null {
  const { default: fallback } = f;
  if (fallback !== undefined) {
    if (column.kind === 'time') {
      const timeZone = f.time_zone ?? 'UTC';
      const fixed = fallback === 'now' ? null : parseTimestamp(String(fallback), timeZone);
      return (k) => {
        const t = fixed ?? localTimeOf(now(), timeZone);
        if (typeof t !== 'string') setTime(column, k, t);
      };
    }
    if (column.kind === 'string') return (k) => (column.values[k] = String(fallback));
    const x = typeof fallback === 'boolean' ? Number(fallback) : Number(fallback);
    return (k) => (column.values[k] = x);
  }
  if (!f.nullable) return null;
  if (column.kind === 'number') return (k) => (column.values[k] = NaN);
  return (k) => {
    if (column.kind === 'string') column.values[k] = null;
  };
}

/** A signature compiled once per model version; `prepare` runs per call. */
export interface CompiledSignature {
  fields: readonly FieldSpec[];
  prepare(rows: readonly FieldRecord[]): PreparedRecords;
}

export function compileSignature(
  fields: readonly FieldSpec[],
  options: { now?: () => number } = {},
): CompiledSignature {
  const now = options.now ?? Date.now;
  return {
    fields,
    prepare(rows) {
      const n = rows.length;
      // "now" is read once per call: every defaulted row of one call gets the same time.
      let at: number | undefined;
      const callNow = () => (at ??= now());
      const compiled: CompiledField[] = fields.map((spec) => {
        const column = newColumn(spec, n);
        return {
          spec,
          names: [spec.name, ...(spec.aliases ?? [])],
          column,
          check: compileCheck(spec, column),
          missing: compileMissing(spec, column, callNow),
        };
      });
      const valid = new Int32Array(n);
      const rejections: Rejection[] = [];
      let count = 0;
      rows: for (let i = 0; i < n; i++) {
        const row = rows[i] as FieldRecord | null | undefined;
        if (typeof row !== 'object' || row === null || Array.isArray(row)) {
          rejections.push({ index: i, field: 'row', reason: 'must be an object' });
          continue;
        }
        for (const c of compiled) {
          let value: unknown = undefined;
          for (const name of c.names) {
            value = row[name];
            if (value !== undefined && value !== null) break;
          }
          if (value === undefined || value === null) {
            if (c.missing) {
              c.missing(count);
              continue;
            }
            const reason =
              c.spec.type === 'integer' || c.spec.type === 'number'
                ? `${expectation(c.spec)} (got ${shown(value)})`
                : `is required by this model${c.spec.type === 'timestamp' ? ` (${TIMESTAMP_FORMAT})` : ''}`;
            rejections.push({ index: i, field: c.spec.name, reason });
            continue rows;
          }
          const reason = c.check(value, count);
          if (reason !== null) {
            rejections.push({ index: i, field: c.spec.name, reason });
            continue rows;
          }
        }
        valid[count++] = i;
      }
      const columns = new Map<string, FieldColumn>();
      for (const c of compiled) columns.set(c.spec.name, c.column);
      return { valid, count, columns, rejections };
    },
  };
}

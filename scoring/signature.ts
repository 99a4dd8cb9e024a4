/**
 * A card's signature compiled into one validator: every record is checked field by field in signature order (the
 * first bad field is the row's rejection, naming the field and the reason), and the values of the valid rows are
 * gathered into one column per field, so feature rules read typed arrays and no per-row object is built.
 */
import type { FieldRecord, Rejection } from '../contracts/scoring.js';
import type { FieldSpec } from './model-card.js';
import { localTimeOf, parseTimestamp, TIMESTAMP_FORMAT, type LocalTime } from './timestamp.js';

/** Local calendar fields of a timestamp column, one entry per valid row (views of one buffer). */
export interface TimeColumn {
  kind: 'time';
  year: Int16Array;
  month: Int16Array;
  day: Int16Array;
  hour: Int16Array;
  minute: Int16Array;
  second: Int16Array;
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

/**
 * One field's check, compiled once per signature: writes the value of valid row `k` into `column`, or returns the
 * reason it is invalid. (Built once, not per call: a one-record online call pays for no closure or table.)
 */
type Check = (value: unknown, column: FieldColumn, k: number) => string | null;
/** The default / null rule for a missing value at row `k`; null = the value is required. */
type Missing = ((column: FieldColumn, k: number, now: () => number) => void) | null;

interface CompiledField {
  spec: FieldSpec;
  names: string[];
  check: Check;
  missing: Missing;
  /** The rejection reason of a missing required value. */
  required: string;
  /** The name is also an Object.prototype member (`constructor`, `toString` ...): read own properties only. */
  inherited: boolean;
}

/** A record's own field (an absent `constructor` is missing, not Object's function). */
const own = (row: FieldRecord, name: string): unknown => (Object.hasOwn(row, name) ? row[name] : undefined);

function newColumn(f: FieldSpec, n: number): FieldColumn {
  if (f.type === 'timestamp') {
    const buf = new Int16Array(6 * n);
    const part = (i: number) => buf.subarray(i * n, (i + 1) * n);
    return {
      kind: 'time',
      year: part(0),
      month: part(1),
      day: part(2),
      hour: part(3),
      minute: part(4),
      second: part(5),
    };
  }
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

function compileCheck(f: FieldSpec): Check {
  const expected = expectation(f);
  const min = f.min ?? -Infinity;
  const max = f.max ?? Infinity;
  const allowed = f.allowed ? new Set<unknown>(f.allowed) : null;
  if (f.type === 'boolean')
    return (v, column, k) => {
      if (typeof v !== 'boolean') return `${expected} (got ${shown(v)})`;
      (column as NumberColumn).values[k] = v ? 1 : 0;
      return null;
    };
  if (f.type === 'integer' || f.type === 'number') {
    const integer = f.type === 'integer';
    return (v, column, k) => {
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
      (column as NumberColumn).values[k] = x;
      return null;
    };
  }
  if (f.type === 'string') {
    const maxLength = f.max_length ?? Infinity;
    return (v, column, k) => {
      if (typeof v !== 'string') return `${expected} (got ${shown(v)})`;
      if (v.length > maxLength) return `must be at most ${maxLength} characters (got ${v.length})`;
      if (allowed !== null && !allowed.has(v)) return `${expected} (got ${shown(v)})`;
      (column as StringColumn).values[k] = v;
      return null;
    };
  }
  const timeZone = f.time_zone ?? 'UTC';
  // Neighbouring rows often share a timestamp (batch pages come in time order): parse each distinct text once.
  let lastText = '';
  let last: LocalTime | string = '';
  return (v, column, k) => {
    let text = v;
    if (v instanceof Date) text = Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
    if (typeof text !== 'string') return `${expected} (got ${typeof v})`;
    if (text !== lastText) {
      lastText = text;
      last = parseTimestamp(text, timeZone);
    }
    if (typeof last === 'string') return `${last} (got ${shown(text)})`;
    setTime(column as TimeColumn, k, last);
    return null;
  };
}

function compileMissing(f: FieldSpec): Missing {
  const { default: fallback } = f;
  if (fallback !== undefined) {
    if (f.type === 'timestamp') {
      const timeZone = f.time_zone ?? 'UTC';
      const fixed = fallback === 'now' ? null : parseTimestamp(String(fallback), timeZone);
      return (column, k, now) => {
        const t = fixed ?? localTimeOf(now(), timeZone);
        if (typeof t !== 'string') setTime(column as TimeColumn, k, t);
      };
    }
    if (f.type === 'string') return (column, k) => ((column as StringColumn).values[k] = String(fallback));
    const x = Number(fallback);
    return (column, k) => ((column as NumberColumn).values[k] = x);
  }
  if (!f.nullable) return null;
  if (f.type === 'string') return (column, k) => ((column as StringColumn).values[k] = null);
  // A timestamp has no null: a nullable one without a default feeds no input (the rules refuse it at load).
  if (f.type === 'timestamp') return () => undefined;
  return (column, k) => ((column as NumberColumn).values[k] = NaN);
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
  const compiled: CompiledField[] = fields.map((spec) => ({
    spec,
    names: [spec.name, ...(spec.aliases ?? [])],
    check: compileCheck(spec),
    missing: compileMissing(spec),
    inherited: spec.name in Object.prototype,
    required:
      spec.type === 'integer' || spec.type === 'number'
        ? `${expectation(spec)} (got nothing)`
        : `is required by this model${spec.type === 'timestamp' ? ` (${TIMESTAMP_FORMAT})` : ''}`,
  }));
  return {
    fields,
    prepare(rows) {
      const n = rows.length;
      // "now" is read once per call: every defaulted row of one call gets the same time.
      let at: number | undefined;
      const callNow = () => (at ??= now());
      const columns = compiled.map((c) => newColumn(c.spec, n));
      const valid = new Int32Array(n);
      const rejections: Rejection[] = [];
      let count = 0;
      rows: for (let i = 0; i < n; i++) {
        const row = rows[i] as FieldRecord | null | undefined;
        if (typeof row !== 'object' || row === null || Array.isArray(row)) {
          rejections.push({ index: i, field: 'row', reason: 'must be an object' });
          continue;
        }
        for (let f = 0; f < compiled.length; f++) {
          const c = compiled[f] as CompiledField;
          const column = columns[f] as FieldColumn;
          let value: unknown = c.inherited ? own(row, c.spec.name) : row[c.spec.name];
          for (let a = 1; (value === undefined || value === null) && a < c.names.length; a++)
            value = own(row, c.names[a] ?? '');
          if (value === undefined || value === null) {
            if (c.missing) {
              c.missing(column, count, callNow);
              continue;
            }
            rejections.push({ index: i, field: c.spec.name, reason: c.required });
            continue rows;
          }
          const reason = c.check(value, column, count);
          if (reason !== null) {
            rejections.push({ index: i, field: c.spec.name, reason });
            continue rows;
          }
        }
        valid[count++] = i;
      }
      const byName = new Map<string, FieldColumn>();
      compiled.forEach((c, f) => byName.set(c.spec.name, columns[f] as FieldColumn));
      return { valid, count, columns: byName, rejections };
    },
  };
}

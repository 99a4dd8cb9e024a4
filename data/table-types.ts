/**
 * Column types of a loaded table: what a CSV column's text or a parquet column's schema maps to in Postgres, how a
 * value is written in COPY text format, and which existing column type a file column may load into.
 */
import type { SchemaElement } from 'hyparquet';

export const PG_TYPES = [
  'bigint',
  'double precision',
  'numeric',
  'boolean',
  'date',
  'timestamp',
  'timestamptz',
  'text',
  'bytea',
] as const;
export type PgType = (typeof PG_TYPES)[number];

/** A column of the file, as the loader will create it. */
export interface SourceColumn {
  name: string;
  type: PgType;
  /** True when the file has no value in this column (its type is a guess, so any table type accepts it). */
  empty: boolean;
}

/** information_schema.columns.data_type of each type, to compare a file with an existing table. */
export const INFORMATION_SCHEMA_TYPE: Record<PgType, string> = {
  bigint: 'bigint',
  'double precision': 'double precision',
  numeric: 'numeric',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  text: 'text',
  bytea: 'bytea',
};

/** Whether a file column of type `file` loads into an existing column of information_schema type `table`. */
export function loadsInto(file: SourceColumn, table: string): boolean {
  if (file.empty || INFORMATION_SCHEMA_TYPE[file.type] === table) return true;
  if (table === 'text') return true; // every COPY text value is valid text
  // A file whose float column happens to hold only whole numbers infers bigint; it still fits a float column.
  if (file.type === 'bigint')
    return ['double precision', 'numeric', 'real', 'integer', 'smallint'].includes(table);
  if (file.type === 'double precision') return table === 'numeric' || table === 'real';
  return false;
}

const INT64_MAX = 9223372036854775807n;
const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$|^[+-]?(nan|inf|infinity)$/i;
const BOOLEAN = /^(true|false)$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$/i;
const TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

type TextKind =
  'integer' | 'wide-integer' | 'float' | 'boolean' | 'date' | 'timestamp' | 'timestamptz' | 'text';

/** The kind of one non-empty CSV value. Leading zeros ("007") mean a code, not a number, so they stay text. */
export function textKind(value: string): TextKind {
  if (INTEGER.test(value)) {
    const digits = value.replace(/^[+-]/, '');
    if (digits.length > 1 && digits.startsWith('0')) return 'text';
    const n = BigInt(value);
    return n <= INT64_MAX && n >= -INT64_MAX - 1n ? 'integer' : 'wide-integer';
  }
  if (FLOAT.test(value)) return /^[+-]?0\d/.test(value) ? 'text' : 'float';
  if (BOOLEAN.test(value)) return 'boolean';
  if (DATE.test(value)) return 'date';
  if (TIMESTAMP.test(value)) return 'timestamp';
  if (TIMESTAMPTZ.test(value)) return 'timestamptz';
  return 'text';
}

/** Accumulates the kinds seen in one CSV column; `type` is the narrowest Postgres type that holds them all. */
export class TextColumnType {
  private readonly kinds = new Set<TextKind>();

  add(value: string): void {
    if (this.kinds.has('text')) return; // nothing widens text
    this.kinds.add(textKind(value));
  }

  get empty(): boolean {
    return this.kinds.size === 0;
  }

  get type(): PgType {
    const k = this.kinds;
    if (k.size === 0 || k.has('text')) return 'text';
    if (k.size === 1) {
      const only = [...k][0];
      if (only === 'integer') return 'bigint';
      if (only === 'wide-integer') return 'numeric'; // beyond bigint: kept exact
      if (only === 'float') return 'double precision';
      if (only === 'boolean' || only === 'date' || only === 'timestamp' || only === 'timestamptz')
        return only;
    }
    if (k.has('wide-integer') && !k.has('float') && [...k].every((x) => x.endsWith('integer')))
      return 'numeric';
    if ([...k].every((x) => x.endsWith('integer') || x === 'float')) return 'double precision';
    return 'text'; // e.g. naive and offset timestamps mixed, or numbers and words
  }
}

/** The Postgres type of a flat parquet column, or the reason it cannot be loaded as one column. */
export function parquetColumnType(element: SchemaElement): PgType | { unsupported: string } {
  const { type, converted_type: converted, logical_type: logical } = element;
  if (element.num_children) return { unsupported: 'a nested group (struct, list or map)' };
  if (element.repetition_type === 'REPEATED') return { unsupported: 'a repeated field' };
  if (logical?.type === 'TIMESTAMP') return logical.isAdjustedToUTC ? 'timestamptz' : 'timestamp';
  // Legacy TIMESTAMP_* annotations mean instants (UTC); INT96 (Spark, Impala) is conventionally local time.
  if (converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS') return 'timestamptz';
  if (type === 'INT96') return 'timestamp';
  if (logical?.type === 'DATE' || converted === 'DATE') return 'date';
  if (logical?.type === 'DECIMAL' || converted === 'DECIMAL') return 'numeric';
  if (
    converted === 'UINT_64' ||
    (logical?.type === 'INTEGER' && logical.bitWidth === 64 && !logical.isSigned)
  )
    return 'numeric';
  if (logical?.type === 'TIME' || converted === 'TIME_MILLIS' || converted === 'TIME_MICROS') return 'text';
  if (logical?.type === 'FLOAT16') return 'double precision';
  switch (type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
      return 'bigint';
    case 'FLOAT':
    case 'DOUBLE':
      return 'double precision';
    case 'BYTE_ARRAY':
      return 'text';
    case 'FIXED_LEN_BYTE_ARRAY':
      return logical?.type === 'UUID' ? 'text' : 'bytea';
    default:
      return { unsupported: `parquet type ${type ?? 'none'}` };
  }
}

/** Escapes text for COPY text format, where backslash, tab, newline and carriage return are special. */
export function copyEscape(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
      )
    : text;
}

/** COPY text of naive microseconds since 1970 (the parquet reader's timestamp form), in UTC calendar terms. */
export function microsToText(micros: number, withZone: boolean): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const sub = String(Math.round(micros - ms * 1000)).padStart(3, '0');
  return `${iso.slice(0, 23)}${sub}${withZone ? '+00' : ''}`;
}

/**
 * The tables of a deployment's batch block as the batch mode sees them: catalog introspection (columns with their
 * types, unique keys), the layouts the page reader and the sink writer work from, and the DDL of a missing sink.
 * Identifiers come from the deployment file (validated by its schema and against the introspected columns) and are
 * always quoted; values never appear here.
 */
import pg from 'pg';
import type { Pool } from '../pool.js';

/** Column types the batch reader decodes (`numeric` travels as text, see readColumn in batch-copy.ts). */
export const READABLE_TYPES = [
  'int2',
  'int4',
  'int8',
  'float4',
  'float8',
  'numeric',
  'text',
  'varchar',
  'bpchar',
  'bool',
  'timestamp',
  'timestamptz',
  'date',
] as const;
export type ReadableType = (typeof READABLE_TYPES)[number];
/** Key types: the key is copied to the sink as raw bytes and printed as text for resume points and rejections. */
export const KEY_TYPES = ['int2', 'int4', 'int8', 'text', 'varchar', 'bpchar', 'uuid'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export interface ColumnInfo {
  name: string;
  /** pg_type.typname (int4, float8, text ...). */
  type: string;
  /** format_type() text, for messages and DDL (integer, double precision, character varying(20) ...). */
  formatted: string;
  notNull: boolean;
  hasDefault: boolean;
}

export interface TableInfo {
  name: string;
  columns: Map<string, ColumnInfo>;
  /** Column lists of the unique indexes (the primary key included). */
  uniques: string[][];
}

/** `schema.table` or `table`, each part quoted. */
export function quoteTable(name: string): string {
  return name
    .split('.')
    .map((part) => pg.escapeIdentifier(part))
    .join('.');
}

export const quote = (identifier: string): string => pg.escapeIdentifier(identifier);

/** The table's columns and unique keys, or null when it does not exist. */
export async function describeTable(pool: Pool, name: string): Promise<TableInfo | null> {
  const { rows } = await pool.query<{
    name: string;
    type: string;
    formatted: string;
    not_null: boolean;
    has_default: boolean;
  }>(
    `SELECT a.attname AS name, t.typname AS type, format_type(a.atttypid, a.atttypmod) AS formatted,
            a.attnotnull AS not_null, a.atthasdef AS has_default
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [name],
  );
  if (rows.length === 0) {
    const exists = await pool.query<{ oid: string | null }>(`SELECT to_regclass($1)::text AS oid`, [name]);
    if (exists.rows[0]?.oid === null || exists.rows[0]?.oid === undefined) return null;
  }
  const uniques = await pool.query<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
     FROM pg_index i
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, ord)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = to_regclass($1) AND i.indisunique
     GROUP BY i.indexrelid`,
    [name],
  );
  return {
    name,
    columns: new Map(
      rows.map((r) => [
        r.name,
        {
          name: r.name,
          type: r.type,
          formatted: r.formatted,
          notNull: r.not_null,
          hasDefault: r.has_default,
        },
      ]),
    ),
    uniques: uniques.rows.map((r) => r.cols),
  };
}

/** Tables of `names` that do not exist. */
export async function missingTables(pool: Pool, names: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT n AS name FROM unnest($1::text[]) WITH ORDINALITY AS u (n, i) WHERE to_regclass(n) IS NULL ORDER BY i`,
    [names],
  );
  return rows.map((r) => r.name);
}

/** A column the page reader selects. */
export interface SourceColumn {
  name: string;
  type: ReadableType;
}

/** What a page read selects: key, event time (if any), then the distinct columns fields and labels read. */
export interface SourceLayout {
  table: string;
  key: { name: string; type: KeyType };
  eventTime?: { name: string; type: 'timestamp' | 'timestamptz' };
  /** Columns after key and event time, in COPY order. */
  columns: SourceColumn[];
}

/** One value column of a sink (a prediction value, the label, the error), by its generic role. */
export interface SinkValue {
  /** Generic name (the regression name, label, probabilities, actual, diff). */
  role: string;
  /** Column name in the table (after the deployment's renames). */
  column: string;
  /** SQL type of the column when the batch mode creates it. */
  sqlType: 'double precision' | 'text' | 'bigint' | 'jsonb';
}

export const SINK_NAMES = [
  'model_name',
  'model_version',
  'run_id',
  'scored_at',
  'field',
  'reason',
  'rejected_at',
] as const;
export type SinkNames = Record<(typeof SINK_NAMES)[number], string>;

/** The sink and rejected tables of a deployment, with the table-side name of every generic column. */
export interface SinkLayout {
  table: string;
  rejectedTable: string;
  key: { column: string; type: KeyType; sqlType: string };
  /** Table-side names of the generic bookkeeping columns. */
  names: SinkNames;
  values: SinkValue[];
}

/** Column order of the COPY stream both write paths read. */
export function sinkCopyColumns(sink: SinkLayout): string[] {
  const n = sink.names;
  return [sink.key.column, n.model_name, n.model_version, ...sink.values.map((v) => v.column), n.run_id];
}

/** CREATE TABLE IF NOT EXISTS of the sink and rejected tables, with their run_id indexes. */
export function sinkDdl(sink: SinkLayout): string[] {
  const n = sink.names;
  const q = quote;
  const key = `${q(sink.key.column)} ${sink.key.sqlType} NOT NULL`;
  const pk = `PRIMARY KEY (${q(sink.key.column)}, ${q(n.model_name)}, ${q(n.model_version)})`;
  // The first value (the prediction itself) is required; label-derived columns are null when the label is unknown.
  const values = sink.values.map((v, i) => `${q(v.column)} ${v.sqlType}${i === 0 ? ' NOT NULL' : ''}`);
  // The sink's run index is BRIN (migration 018 says why); the rejected table's, small, a btree.
  const index = (table: string, method: 'btree' | 'brin') => {
    const name = q(`${table.replace('.', '_')}_run_${method === 'brin' ? 'brin' : 'idx'}`.slice(0, 63));
    const using = method === 'brin' ? ' USING brin' : '';
    const options = method === 'brin' ? ' WITH (autosummarize = on)' : '';
    return `CREATE INDEX IF NOT EXISTS ${name} ON ${quoteTable(table)}${using} (${q(n.run_id)})${options}`;
  };
  return [
    `CREATE TABLE IF NOT EXISTS ${quoteTable(sink.table)} (
      ${key}, ${q(n.model_name)} text NOT NULL, ${q(n.model_version)} text NOT NULL,
      ${values.join(', ')}, ${q(n.run_id)} text NOT NULL,
      ${q(n.scored_at)} timestamptz NOT NULL DEFAULT now(), ${pk})`,
    index(sink.table, 'brin'),
    `CREATE TABLE IF NOT EXISTS ${quoteTable(sink.rejectedTable)} (
      ${key}, ${q(n.model_name)} text NOT NULL, ${q(n.model_version)} text NOT NULL,
      ${q(n.run_id)} text NOT NULL, ${q(n.field)} text NOT NULL, ${q(n.reason)} text NOT NULL,
      ${q(n.rejected_at)} timestamptz NOT NULL DEFAULT now(), ${pk})`,
    index(sink.rejectedTable, 'btree'),
  ];
}

/** Creates the sink tables when missing (idempotent; concurrent workers may race, IF NOT EXISTS settles it). */
export async function createSinkTables(pool: Pool, sink: SinkLayout): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Two workers starting together would both try CREATE: serialize them on one advisory lock per sink.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`batch-sink:${sink.table}`]);
    for (const sql of sinkDdl(sink)) await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Loads a CSV or parquet file into a Postgres table keyed by one of its columns (`npm run load`). The table is
 * created when missing (column types inferred from the file, the key as PRIMARY KEY); rows go through COPY into a
 * temporary table, then `INSERT ... ON CONFLICT (key) DO NOTHING`, all in one transaction: re-loading a file
 * inserts nothing, and a failed load (duplicate keys, a bad value) writes nothing.
 */
import path from 'node:path';
import pg from 'pg';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { copyText } from './copy.js';
import { openCsvSource } from './csv-source.js';
import { openParquetSource } from './parquet-source.js';
import { TableLoadError } from './table-errors.js';
import type { TableSource } from './table-source.js';
import { INFORMATION_SCHEMA_TYPE, loadsInto, type SourceColumn } from './table-types.js';

export interface LoadTableOptions {
  table: string;
  key: string;
  /** Called as rows are copied (after the file was read once to learn its columns). */
  onProgress?: (progress: { rowsDone: number; totalRows: number }) => void;
}

export interface LoadTableSummary {
  file: string;
  table: string;
  key: string;
  /** False when the table already existed. */
  created: boolean;
  columns: SourceColumn[];
  rowsRead: number;
  inserted: number;
  alreadyPresent: number;
  seconds: number;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STAGING = 'load_table_staging';

/** Opens `file` by its extension (.csv or .parquet). */
export async function openTableSource(file: string): Promise<TableSource> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return openCsvSource(file);
  if (ext === '.parquet') return openParquetSource(file);
  throw new TableLoadError(file, `unsupported file type "${ext || '(none)'}": expected .csv or .parquet`);
}

/** A table name is a plain identifier (letters, digits, underscore), created in the connection's current schema. */
export function checkTableName(table: string): void {
  if (!TABLE_NAME.test(table) || table.length > 63)
    throw new TableLoadError(
      '--table',
      `"${table}" is not a valid table name: use letters, digits and underscores (not starting with a digit), at most 63`,
    );
}

export async function loadTable(
  pool: Pool,
  file: string,
  options: LoadTableOptions,
): Promise<LoadTableSummary> {
  const started = performance.now();
  const { table, key } = options;
  checkTableName(table);
  const source = await openTableSource(file);
  const names = source.columns.map((c) => c.name);
  if (!names.includes(key))
    throw new TableLoadError(
      file,
      `key column "${key}" is not in the file; its columns are: ${names.join(', ')}`,
    );

  const id = pg.escapeIdentifier;
  const columnList = names.map(id).join(', ');
  return withTransaction(pool, async (client) => {
    const created = (await describeTable(client, table)) === undefined;
    if (created) await client.query(createTableSql(table, key, source.columns));
    // Checked after the CREATE too: another load may have created the table in between.
    checkExistingTable(
      source,
      table,
      key,
      (await describeTable(client, table)) ?? { columns: [], primaryKey: [] },
    );

    // Same column types as the target, no constraints: a NULL or duplicate key reaches the checks below.
    await client.query(
      `CREATE TEMP TABLE ${id(STAGING)} ON COMMIT DROP AS SELECT ${columnList} FROM ${id(table)} WITH NO DATA`,
    );
    const totalRows = source.rows;
    const rowsRead = await copyText(
      client,
      STAGING,
      names,
      source.copyText((rowsDone) => options.onProgress?.({ rowsDone, totalRows })),
    ).catch((err: unknown) => {
      throw copyError(file, err);
    });
    await checkKeys(client, file, key);
    const inserted = await client.query(
      `INSERT INTO ${id(table)} (${columnList}) SELECT ${columnList} FROM ${id(STAGING)} ON CONFLICT (${id(key)}) DO NOTHING`,
    );
    const insertedRows = inserted.rowCount ?? 0;
    return {
      file,
      table,
      key,
      created,
      columns: source.columns,
      rowsRead,
      inserted: insertedRows,
      alreadyPresent: rowsRead - insertedRows,
      seconds: (performance.now() - started) / 1000,
    };
  });
}

function createTableSql(table: string, key: string, columns: readonly SourceColumn[]): string {
  const id = pg.escapeIdentifier;
  const defs = columns.map((c) => `${id(c.name)} ${c.type}${c.name === key ? ' PRIMARY KEY' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${id(table)} (${defs.join(', ')})`;
}

interface ExistingTable {
  columns: { name: string; type: string }[];
  primaryKey: string[];
}

async function describeTable(client: PoolClient, table: string): Promise<ExistingTable | undefined> {
  const cols = await client.query<{ name: string; type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  if (cols.rows.length === 0) return undefined;
  const pk = await client.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey)
      WHERE i.indisprimary AND t.relnamespace = current_schema()::regnamespace AND t.relname = $1`,
    [table],
  );
  return { columns: cols.rows, primaryKey: pk.rows.map((r) => r.name) };
}

/** The file must match the table's columns (same names; types that load), and the key must be its primary key. */
function checkExistingTable(source: TableSource, table: string, key: string, existing: ExistingTable): void {
  const describe = (cols: readonly { name: string; type: string }[]) =>
    cols.map((c) => `${c.name} ${c.type}`).join(', ');
  const fileCols = source.columns.map((c) => ({ name: c.name, type: INFORMATION_SCHEMA_TYPE[c.type] }));
  const tableNames = new Set(existing.columns.map((c) => c.name));
  const fileNames = new Set(source.columns.map((c) => c.name));
  const missing = source.columns.filter((c) => !tableNames.has(c.name)).map((c) => c.name);
  const extra = existing.columns.filter((c) => !fileNames.has(c.name)).map((c) => c.name);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `the file has ${missing.join(', ')}, which the table lacks` : '',
      extra.length > 0 ? `the table has ${extra.join(', ')}, which the file lacks` : '',
    ].filter(Boolean);
    throw new TableLoadError(
      source.file,
      `table "${table}" exists with different columns: ${parts.join('; ')} ` +
        `(table: ${describe(existing.columns)}; file: ${describe(fileCols)})`,
    );
  }
  for (const column of source.columns) {
    const tableType = existing.columns.find((c) => c.name === column.name)?.type ?? '';
    if (!loadsInto(column, tableType))
      throw new TableLoadError(
        source.file,
        `column "${column.name}" is ${tableType} in table "${table}", but the file's values are ${column.type}`,
      );
  }
  if (existing.primaryKey.length !== 1 || existing.primaryKey[0] !== key)
    throw new TableLoadError(
      source.file,
      `table "${table}" ${existing.primaryKey.length === 0 ? 'has no primary key' : `has primary key (${existing.primaryKey.join(', ')})`}, not the key column "${key}"`,
    );
}

/** Every row needs a key, once: checked in Postgres, so "1" and "01.0" are the same key as they will be there. */
async function checkKeys(client: PoolClient, file: string, key: string): Promise<void> {
  const id = pg.escapeIdentifier;
  const empty = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${id(STAGING)} WHERE ${id(key)} IS NULL`,
  );
  const nulls = Number(empty.rows[0]?.n ?? 0);
  if (nulls > 0) throw new TableLoadError(file, `key column "${key}" is empty in ${nulls} row(s)`);
  const dups = await client.query<{ k: string; n: string }>(
    `SELECT ${id(key)}::text AS k, count(*) AS n FROM ${id(STAGING)} GROUP BY 1 HAVING count(*) > 1
      ORDER BY count(*) DESC, 1 LIMIT 5`,
  );
  if (dups.rows.length > 0) {
    const total = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${id(STAGING)} GROUP BY ${id(key)} HAVING count(*) > 1) d`,
    );
    const shown = dups.rows.map((r) => `${r.k} (${r.n} rows)`).join(', ');
    throw new TableLoadError(
      file,
      `duplicate keys in the file: ${total.rows[0]?.n ?? dups.rows.length} value(s) of "${key}" appear more ` +
        `than once, e.g. ${shown}`,
    );
  }
}

/** A value Postgres refused during COPY: its message and where (line of data, column), without the staging name. */
function copyError(file: string, err: unknown): Error {
  if (err instanceof TableLoadError || !(err instanceof pg.DatabaseError)) return err as Error;
  const where = /line (\d+), column ([^:]+)/.exec(err.where ?? '');
  const at = where ? ` (data row ${where[1]}, column ${where[2]})` : '';
  return new TableLoadError(file, `a value cannot be loaded: ${err.message}${at}`, { cause: err });
}

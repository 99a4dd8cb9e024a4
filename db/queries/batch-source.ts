/**
 * Reads of batch scoring from a deployment's source table: partition planning by page-order key ranges and keyset
 * page reads (COPY binary out). Page order is (event time, key), or the key alone without event time; identifiers
 * come quoted from the layout, every value travels as a bind parameter (set_config for COPY, which takes none).
 */
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import type { PageKey } from '../../contracts/batch.js';
import type { Pool, PoolClient } from '../pool.js';
import { decodePage, type Page, type PageReads } from './batch-copy.js';
import { quote, quoteTable, type SinkLayout, type SourceLayout } from './batch-tables.js';

export interface KeyRange {
  /** Naive event-time bounds [from, to); ignored for a source without event time. */
  from: string;
  to: string;
  /** Rows with position >= start (inclusive). */
  start?: PageKey;
  /** Rows with position < end (exclusive). */
  end?: PageKey | null;
  /** Rows with position > after (a resume point). */
  after?: PageKey;
}

/**
 * The SQL pieces of a layout's page order. `value(name)` renders a bound value: `$n` for a query, a
 * `current_setting(...)` for COPY. Casts come from the introspected column types, never from input.
 */
function order(layout: SourceLayout, value: (name: string) => string) {
  const key = quote(layout.key.name);
  const keyCast = `::${layout.key.type}`;
  const et = layout.eventTime;
  const time = et ? quote(et.name) : '';
  // A timestamptz column is partitioned by UTC wall-clock bounds; its keys carry their offset (Z).
  const bound = (name: string) =>
    et?.type === 'timestamptz'
      ? `(${value(name)}::timestamp AT TIME ZONE 'UTC')`
      : `${value(name)}::timestamp`;
  const position = (prefix: string) =>
    et
      ? `(${value(`${prefix}_time`)}::${et.type}, ${value(`${prefix}_key`)}${keyCast})`
      : `${value(`${prefix}_key`)}${keyCast}`;
  return {
    columns: et ? `(${time}, ${key})` : key,
    orderBy: et ? `${time}, ${key}` : key,
    partition: et ? [`${time} >= ${bound('from')}`, `${time} < ${bound('to')}`] : [],
    position,
  };
}

function where(layout: SourceLayout, r: KeyRange, value: (name: string) => string): string {
  const o = order(layout, value);
  const parts = [...o.partition];
  if (r.start) parts.push(`${o.columns} >= ${o.position('start')}`);
  if (r.end) parts.push(`${o.columns} < ${o.position('end')}`);
  if (r.after) parts.push(`${o.columns} > ${o.position('after')}`);
  return parts.length > 0 ? parts.join(' AND ') : 'TRUE';
}

/** The named values of a range, in the order `where` asks for them. */
function rangeValues(r: KeyRange): Map<string, string> {
  const values = new Map<string, string>([
    ['from', r.from],
    ['to', r.to],
  ]);
  for (const [prefix, k] of [
    ['start', r.start],
    ['end', r.end],
    ['after', r.after],
  ] as const) {
    if (!k) continue;
    values.set(`${prefix}_time`, k.time ?? '');
    values.set(`${prefix}_key`, k.key);
  }
  return values;
}

/** A `value` renderer for a parameterized query: each name becomes `$n` once, its value appended to `params`. */
function bindings(r: KeyRange, params: unknown[]) {
  const values = rangeValues(r);
  const slots = new Map<string, string>();
  return (name: string) => {
    let slot = slots.get(name);
    if (!slot) slots.set(name, (slot = `$${params.push(values.get(name) ?? '')}`));
    return slot;
  };
}

/** Rows in the range, and the first position of every `chunkSize` rows (at most `maxChunks + 1` of them). */
export async function planKeys(
  pool: Pool,
  layout: SourceLayout,
  range: KeyRange,
  chunkSize: number,
  maxChunks: number,
): Promise<{ rows: number; starts: PageKey[] }> {
  const table = quoteTable(layout.table);
  const countParams: unknown[] = [];
  const count = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${table} WHERE ${where(layout, range, bindings(range, countParams))}`,
    countParams,
  );
  const params: unknown[] = [];
  const w = where(layout, range, bindings(range, params));
  const et = layout.eventTime;
  // Text forms: the event time as the page decoder prints it (T separator, Z for timestamptz), the key as ::text;
  // formatted in the outer query, so only the chunk starts are formatted, not every row of the partition.
  const timeText = et
    ? et.type === 'timestamptz'
      ? `to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
      : `to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.US')`
    : 'NULL';
  const { rows } = await pool.query<{ t: string | null; k: string }>(
    `SELECT ${timeText} AS t, k::text AS k FROM (
       SELECT ${et ? quote(et.name) : 'NULL'} AS t, ${quote(layout.key.name)} AS k,
              row_number() OVER (ORDER BY ${order(layout, () => '').orderBy}) AS rn
       FROM ${table} WHERE ${w}
     ) s
     WHERE (rn - 1) % $${params.push(chunkSize)} = 0
     ORDER BY rn LIMIT $${params.push(maxChunks + 1)}`,
    params,
  );
  return {
    rows: Number(count.rows[0]?.n ?? 0),
    starts: rows.map((r) => (r.t === null ? { key: r.k } : { time: trimMicros(r.t), key: r.k })),
  };
}

/** `.000000` and trailing zeros of a fraction dropped, as formatTimestamp prints it. */
function trimMicros(text: string): string {
  return text.replace(/\.(\d*?)0+(Z?)$/, (_m, digits: string, z: string) => (digits ? `.${digits}${z}` : z));
}

/**
 * The next `limit` rows of a chunk in page order, decoded column by column (batch-copy.ts). COPY takes no bind
 * parameters, so the bounds are bound values of set_config and the COPY text only names columns.
 */
export async function readPage(
  client: PoolClient,
  layout: SourceLayout,
  reads: PageReads,
  range: KeyRange,
  limit: number,
): Promise<Page> {
  const values = rangeValues(range);
  const names = [...values.keys()];
  await client.query(
    `SELECT ${names.map((_, i) => `set_config('batch.${names[i] ?? ''}', $${i + 1}, false)`).join(', ')},
            set_config('batch.limit', $${names.length + 1}, false)`,
    [...values.values(), String(limit)],
  );
  const setting = (name: string) => `current_setting('batch.${name}')`;
  const select = [
    quote(layout.key.name),
    ...(layout.eventTime ? [quote(layout.eventTime.name)] : []),
    // numeric's binary form is base-10000 digit groups: its text is simpler to read and exact.
    ...layout.columns.map((c) => (c.type === 'numeric' ? `${quote(c.name)}::text` : quote(c.name))),
  ];
  const copy = `COPY (
    SELECT ${select.join(', ')} FROM ${quoteTable(layout.table)}
    WHERE ${where(layout, range, setting)}
    ORDER BY ${order(layout, setting).orderBy} LIMIT ${setting('limit')}::int
  ) TO STDOUT (FORMAT binary)`;
  const parts: Buffer[] = [];
  await pipeline(
    client.query(copyStreams.to(copy)),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return decodePage(Buffer.concat(parts), layout, reads);
}

/**
 * Removes the rejections a model version left on rows of this partition in earlier runs, at the start of a run:
 * a row fixed in the source since then is scored now, and must not stay listed as rejected too. The run writes the
 * rejections that still hold again as it goes. One statement per run; it walks the rejected table (small), probing
 * the source's key for the partition.
 */
export async function clearEarlierRejections(
  pool: Pool,
  source: SourceLayout,
  sink: Pick<SinkLayout, 'rejectedTable' | 'key' | 'names'>,
  range: Pick<KeyRange, 'from' | 'to'>,
  model: { name: string; version: string },
): Promise<number> {
  const params: unknown[] = [model.name, model.version];
  const key = quote(source.key.name);
  const inPartition = where(source, range, bindings(range, params));
  const result = await pool.query(
    `DELETE FROM ${quoteTable(sink.rejectedTable)} r
     WHERE r.${quote(sink.names.model_name)} = $1 AND r.${quote(sink.names.model_version)} = $2
       AND EXISTS (SELECT 1 FROM ${quoteTable(source.table)} s
                   WHERE s.${key} = r.${quote(sink.key.column)} AND ${inPartition})`,
    params,
  );
  return result.rowCount ?? 0;
}

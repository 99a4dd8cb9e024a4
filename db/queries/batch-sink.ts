/**
 * Writes of batch scoring into a deployment's sink: COPY binary of scored rows (direct, or staged + upsert) and
 * the rejected rows, one transaction per batch, idempotent by (key, model_name, model_version).
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import copyStreams from 'pg-copy-streams';
import type { PoolClient } from '../pool.js';
import type { Statement } from './batch-progress.js';
import { quote, quoteTable, sinkCopyColumns, type SinkLayout } from './batch-tables.js';

const UNIQUE_VIOLATION = '23505';

export interface SinkMeta {
  modelName: string;
  modelVersion: string;
  runId: string;
}

/** A row the scorer refused; `key` is the key's text, cast back to the key's column type in SQL. */
export interface Rejected {
  key: string;
  field: string;
  reason: string;
}

/** The statements of one sink, built once per layout (identifiers quoted, no values). */
interface SinkSql {
  staging: string;
  createStaging: string;
  copyInto: (table: string) => string;
  upsert: string;
  rejected: string;
}

const cache = new WeakMap<SinkLayout, SinkSql>();

function sqlOf(sink: SinkLayout): SinkSql {
  const hit = cache.get(sink);
  if (hit) return hit;
  const n = sink.names;
  const q = quote;
  const columns = sinkCopyColumns(sink).map(q).join(', ');
  const conflict = `ON CONFLICT (${q(sink.key.column)}, ${q(n.model_name)}, ${q(n.model_version)})`;
  const staging = q(`batch_staging_${sink.table.replace('.', '_')}`.slice(0, 63));
  const updated = [...sink.values.map((v) => v.column), n.run_id, n.scored_at]
    .map((c) => `${q(c)} = EXCLUDED.${q(c)}`)
    .join(', ');
  const sql: SinkSql = {
    staging,
    // A session temp table shaped like the sink (its NOT NULLs and defaults, no keys), emptied at each commit.
    createStaging: `CREATE TEMP TABLE IF NOT EXISTS ${staging} (LIKE ${quoteTable(sink.table)} INCLUDING DEFAULTS)
      ON COMMIT DELETE ROWS`,
    copyInto: (table) => `COPY ${table} (${columns}) FROM STDIN (FORMAT binary)`,
    upsert: `INSERT INTO ${quoteTable(sink.table)} AS p (${columns}, ${q(n.scored_at)})
      SELECT ${columns}, now() FROM ${staging} ${conflict} DO UPDATE SET ${updated}`,
    rejected: `INSERT INTO ${quoteTable(sink.rejectedTable)}
        (${q(sink.key.column)}, ${q(n.model_name)}, ${q(n.model_version)}, ${q(n.run_id)}, ${q(n.field)}, ${q(n.reason)})
      SELECT r.k::${sink.key.type}, $4, $5, $6, r.field, r.reason
      FROM unnest($1::text[], $2::text[], $3::text[]) AS r (k, field, reason)
      ${conflict} DO UPDATE SET ${q(n.run_id)} = EXCLUDED.${q(n.run_id)}, ${q(n.field)} = EXCLUDED.${q(n.field)},
        ${q(n.reason)} = EXCLUDED.${q(n.reason)}, ${q(n.rejected_at)} = now()`,
  };
  cache.set(sink, sql);
  return sql;
}

async function copyIn(client: PoolClient, sql: string, copy: Buffer): Promise<void> {
  await pipeline(Readable.from([copy]), client.query(copyStreams.from(sql)));
}

/**
 * Writes one scored batch in one transaction, idempotently by (key, model_name, model_version).
 * Fast path (`tryDirect`): COPY straight into the sink behind a savepoint; any existing key (a re-run, a resumed
 * or concurrent attempt) raises a unique violation, which rolls back to the savepoint and takes the upsert path:
 * COPY into a session temp table, then INSERT ... ON CONFLICT DO UPDATE. `also` runs last, before COMMIT.
 * Returns the path taken.
 * `copy` is a SinkCopy stream in sinkCopyColumns order, null when the batch scored no row.
 */
export async function writeScoredBatch(
  client: PoolClient,
  sink: SinkLayout,
  meta: SinkMeta,
  copy: Buffer | null,
  rejected: readonly Rejected[],
  options: { tryDirect?: boolean; also?: readonly Statement[] } = {},
): Promise<'direct' | 'upsert'> {
  const tryDirect = options.tryDirect ?? true;
  const sql = sqlOf(sink);
  let path: 'direct' | 'upsert' = 'upsert';
  await client.query(sql.createStaging);
  await client.query('BEGIN');
  try {
    if (copy && tryDirect) {
      await client.query('SAVEPOINT direct_copy');
      try {
        await copyIn(client, sql.copyInto(quoteTable(sink.table)), copy);
        path = 'direct';
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        await client.query('ROLLBACK TO SAVEPOINT direct_copy');
      }
    }
    if (copy && path === 'upsert') {
      await copyIn(client, sql.copyInto(sql.staging), copy);
      await client.query(sql.upsert);
    }
    if (rejected.length > 0)
      await client.query(sql.rejected, [
        rejected.map((r) => r.key),
        rejected.map((r) => r.field),
        rejected.map((r) => r.reason),
        meta.modelName,
        meta.modelVersion,
        meta.runId,
      ]);
    // The caller's own statements (the chunk's progress and its NOTIFY, the page's drift tally) commit with the
    // batch, or not at all.
    for (const s of options.also ?? []) await client.query(s.text, s.values);
    await client.query('COMMIT');
    return path;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

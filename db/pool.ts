/** Creates the Postgres pool. One per process, made at the entry point and passed down. */
import pg from 'pg';
import type { Logger } from '../logger.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// Naive `timestamp` columns (TLC local time) come back as their text, never shifted through the host time zone.
const TIMESTAMP_WITHOUT_TZ_OID = 1114;
function getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === TIMESTAMP_WITHOUT_TZ_OID && format !== 'binary') return (value) => value.replace(' ', 'T');
  return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
}
const types = { getTypeParser };

export function createPool(
  url: string,
  options: { max?: number; logger?: Logger; application?: string } = {},
): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.application ?? 'ride-duration',
    connectionTimeoutMillis: 10_000,
    types,
  });
  // An idle client that loses its server emits here; without a listener the process would crash.
  pool.on('error', (err) => options.logger?.warn({ err }, 'idle Postgres client error'));
  return pool;
}

/** Runs `fn` inside one transaction; rolls back on any error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

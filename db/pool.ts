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
  // An idle client that loses its server emits on the pool; a checked-out one (a long chunk, an SSE feed, a
  // LISTEN) emits on itself. Without listeners either would crash the process when Postgres restarts; with
  // them the next query on that client fails, the caller's retry takes over, and the client is discarded.
  pool.on('error', (err) => options.logger?.warn({ err }, 'idle Postgres client error'));
  pool.on('connect', (client) => {
    client.on('error', (err) => options.logger?.warn({ err }, 'Postgres connection lost'));
  });
  return pool;
}

/** Runs `fn` inside one transaction; rolls back on any error (and discards a client whose connection broke). */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * Waits until Postgres accepts connections (a process started while its database restarts waits instead of
 * exiting), retrying with backoff up to `timeoutMs`; then throws the last error.
 */
export async function waitForDatabase(
  pool: Pool,
  options: { logger?: Logger; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() + delay > deadline) throw err;
      options.logger?.warn({ err: (err as Error).message, retryInMs: delay }, 'waiting for Postgres');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Model aliases (`<name>@production -> 2`). The Postgres store keeps every process in agreement: each holds
 * the whole (small) table in memory, re-reads it on a NOTIFY on channel `model_aliases` (a dedicated LISTEN
 * connection, so a change reaches every API process and worker within milliseconds) and, as a fallback for a lost
 * connection or notification, every `refreshIntervalMs`. Lookups are synchronous map reads, never a query per call.
 */
import { mirrorTable } from '../db/listen.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';

export const ALIAS_CHANNEL = 'model_aliases';
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]*$/;

export interface AliasEntry {
  name: string;
  alias: string;
  version: string;
  updatedAt: string | null;
}

export interface AliasStore {
  get(name: string, alias: string): string | undefined;
  list(): AliasEntry[];
  /** Writes the alias (no validation here; the scorer checks the version is loaded) and tells every process. */
  set(name: string, alias: string, version: string): Promise<void>;
  /** Re-reads the source; resolves after a read that started after this call. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

const key = (name: string, alias: string) => `${name}@${alias}`;

/** In-memory aliases for processes without a database (benchmarks, unit tests). */
export function createStaticAliases(initial: Record<string, Record<string, string>> = {}): AliasStore {
  const map = new Map<string, AliasEntry>();
  const put = (name: string, alias: string, version: string) =>
    map.set(key(name, alias), { name, alias, version, updatedAt: new Date().toISOString() });
  for (const [name, aliases] of Object.entries(initial))
    for (const [alias, version] of Object.entries(aliases)) put(name, alias, version);
  return {
    get: (name, alias) => map.get(key(name, alias))?.version,
    list: () => [...map.values()],
    set: (name, alias, version) => {
      put(name, alias, version);
      return Promise.resolve();
    },
    refresh: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

interface AliasRow {
  model_name: string;
  alias: string;
  version: string;
  updated_at: Date | null;
}

export interface PgAliasOptions {
  pool: Pool;
  logger?: Logger;
  /** Fallback re-read period; default 5 s. */
  refreshIntervalMs?: number;
}

/** Aliases from the `model_aliases` table, kept fresh by LISTEN/NOTIFY plus a periodic re-read. */
export async function createPgAliases(options: PgAliasOptions): Promise<AliasStore> {
  const { pool, logger } = options;
  let map = new Map<string, AliasEntry>();

  const read = async () => {
    const { rows } = await pool.query<AliasRow>(
      'SELECT model_name, alias, version, updated_at FROM model_aliases',
    );
    const next = new Map<string, AliasEntry>();
    for (const r of rows)
      next.set(key(r.model_name, r.alias), {
        name: r.model_name,
        alias: r.alias,
        version: r.version,
        updatedAt: r.updated_at ? r.updated_at.toISOString() : null,
      });
    map = next;
  };

  let mirror;
  try {
    mirror = await mirrorTable({
      pool,
      channel: ALIAS_CHANNEL,
      application: 'model-aliases-listener',
      read,
      failure: 'model alias refresh failed; keeping the last aliases',
      ...(logger ? { logger } : {}),
      ...(options.refreshIntervalMs !== undefined ? { refreshIntervalMs: options.refreshIntervalMs } : {}),
    });
  } catch (err) {
    const missing = (err as { code?: string }).code === '42P01'; // undefined_table
    throw missing
      ? new Error('table model_aliases does not exist: run the migrations (npm run migrate)', { cause: err })
      : err;
  }
  const { refresh } = mirror;

  return {
    get: (name, alias) => map.get(key(name, alias))?.version,
    list: () => [...map.values()],
    async set(name, alias, version) {
      await withTransaction(pool, async (client) => {
        await client.query(
          `INSERT INTO model_aliases (model_name, alias, version, updated_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
          [name, alias, version],
        );
        // Delivered to every listener on commit.
        await client.query('SELECT pg_notify($1, $2)', [
          ALIAS_CHANNEL,
          JSON.stringify({ name, alias, version }),
        ]);
      });
      await refresh();
    },
    refresh,
    close: mirror.close,
  };
}

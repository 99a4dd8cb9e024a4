/**
 * A dedicated LISTEN connection on one channel that reconnects by itself (Postgres restarts, network blips).
 * Notifications sent while it was away are lost, so `onReconnect` lets the owner catch up its own way.
 */
import pg from 'pg';
import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';

export interface ChannelListener {
  /** Whether the LISTEN is in place right now. */
  readonly listening: boolean;
  close(): Promise<void>;
}

export interface ListenOptions {
  pool: Pool;
  channel: string;
  onNotify: (payload: string) => void;
  /** Called after every (re)connection once LISTEN is in place, the first one included. */
  onReconnect?: () => void;
  logger?: Logger;
  /** application_name of the connection (what pg_stat_activity shows); default `listen-<channel>`. */
  application?: string;
  /** Delay before reconnecting after a loss, ms; default 1000. */
  retryMs?: number;
}

const CHANNEL = /^[a-z_][a-z0-9_]*$/;

/** Connects and LISTENs; resolves once the first attempt has either succeeded or been scheduled to retry. */
export async function listenChannel(options: ListenOptions): Promise<ChannelListener> {
  const { pool, channel, logger } = options;
  if (!CHANNEL.test(channel)) throw new Error(`channel must match ${String(CHANNEL)} (got ${channel})`);
  let current: pg.Client | null = null;
  let listening = false;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const connect = async () => {
    const client = new pg.Client({
      ...pool.options,
      application_name: options.application ?? `listen-${channel}`,
    });
    const lost = (err?: Error) => {
      if (closed || current !== client) return;
      current = null;
      listening = false;
      logger?.warn({ err, channel }, 'LISTEN connection lost; reconnecting');
      client.end().catch(() => undefined);
      retry = setTimeout(() => void connect(), options.retryMs ?? 1000);
      retry.unref();
    };
    current = client;
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (n) => {
      if (n.channel === channel) options.onNotify(n.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (err) {
      lost(err as Error);
      return;
    }
    listening = true;
    options.onReconnect?.();
  };
  await connect();

  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      listening = false;
      if (retry) clearTimeout(retry);
      const client = current;
      current = null;
      await client?.end().catch(() => undefined);
    },
  };
}

export interface Mirror {
  /** Re-reads; resolves after a read that started after this call (calls coalesce: at most one queued). */
  refresh: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * A table kept in memory: `read` runs once now (its error is thrown), then again on every NOTIFY on `channel`, on
 * every (re)connection of the LISTEN, and every `refreshIntervalMs` as a fallback; a failed background read keeps
 * what the last one had (logged with `failure`).
 */
export async function mirrorTable(options: {
  pool: Pool;
  channel: string;
  application: string;
  read: () => Promise<void>;
  failure: string;
  logger?: Logger;
  refreshIntervalMs?: number;
}): Promise<Mirror> {
  const { logger } = options;
  let tail: Promise<void> = Promise.resolve();
  let queued: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    if (queued) return queued;
    const next = tail.then(async () => {
      queued = null;
      await options.read();
    });
    queued = next;
    tail = next.catch(() => undefined);
    return next;
  };
  const quietly = () => void refresh().catch((err: unknown) => logger?.warn({ err }, options.failure));
  await refresh();
  const listener = await listenChannel({
    pool: options.pool,
    channel: options.channel,
    application: options.application,
    onNotify: quietly,
    onReconnect: quietly,
    ...(logger ? { logger } : {}),
  });
  const timer = setInterval(quietly, options.refreshIntervalMs ?? 5000);
  timer.unref();
  return {
    refresh,
    async close() {
      clearInterval(timer);
      await listener.close();
      await tail;
    },
  };
}

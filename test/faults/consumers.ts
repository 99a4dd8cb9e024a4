/**
 * What consumers of the fault stack receive while faults hit: SSE subscribers of a stream, a LISTENer of
 * `stream_predictions` that reads the table on each wake-up, and a LISTENer of `batch_runs`. Scenarios compare
 * what they received with what the database holds, so a channel that drops a delivery (or repeats one in a way
 * its dedup key cannot absorb) fails the suite. The guarantees are stated in docs/reliability.md.
 */
import { STREAM_PREDICTIONS_CHANNEL } from '../../contracts/stream.js';
import { listenChannel, type ChannelListener } from '../../db/listen.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import { readPredictionsAfter } from '../../db/queries/stream.js';
import { sleep } from './stack.js';

/** One consumer's view of a delivery check: `ok` is false when the channel broke its guarantee. */
export interface DeliveryCheck {
  channel: string;
  ok: boolean;
  detail: string;
}

/**
 * A `GET /streams/:id/predictions` subscriber that behaves like a browser EventSource: it records every SSE id it
 * receives (repeats included) and reconnects with Last-Event-ID when the connection ends.
 */
export class SseSubscriber {
  readonly received: string[] = [];
  connections = 0;
  readonly errors: string[] = [];
  private readonly controller = new AbortController();
  private lastId: string | undefined;
  private readonly loop: Promise<void>;

  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.controller.signal.aborted) {
      try {
        await this.connectOnce();
      } catch (err) {
        if (this.controller.signal.aborted) return;
        this.errors.push((err as Error).message);
      }
      if (!this.controller.signal.aborted) await sleep(200); // EventSource's reconnect delay, shortened
    }
  }

  private async connectOnce(): Promise<void> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}` };
    if (this.lastId) headers['last-event-id'] = this.lastId;
    const res = await fetch(this.url, { headers, signal: this.controller.signal });
    if (res.status !== 200 || !res.body) throw new Error(`SSE answered ${res.status}`);
    this.connections += 1;
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: ?(.*)$/m.exec(frame)?.[1];
        if (id !== undefined && /^event: ?prediction$/m.test(frame)) {
          this.received.push(id);
          this.lastId = id;
        }
      }
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }
}

/**
 * A LISTENer of `stream_predictions` for one stream. The notification carries only the stream id (a wake-up), so
 * like `control/stream-source.ts` it reads the table after the last id it has seen on every wake-up, and never
 * otherwise: a commit that persisted predictions without notifying leaves rows this consumer never reads.
 */
export class NotifyReader {
  readonly received: string[] = [];
  notifications = 0;
  private lastId = '0';
  private pending = false;
  private reading: Promise<void> | undefined;

  private constructor(
    private readonly client: PoolClient,
    readonly streamId: string,
  ) {}

  static async open(pool: Pool, streamId: string): Promise<NotifyReader> {
    // A lost connection shows as missing rows, which the check reports (the pool gives it an error listener).
    const client = await pool.connect();
    const reader = new NotifyReader(client, streamId);
    client.on('notification', (msg) => {
      if (msg.channel !== STREAM_PREDICTIONS_CHANNEL) return;
      const payload = JSON.parse(msg.payload ?? '{}') as { stream_id?: string };
      if (payload.stream_id !== streamId) return;
      reader.notifications += 1;
      reader.wake();
    });
    await client.query(`LISTEN ${STREAM_PREDICTIONS_CHANNEL}`);
    return reader;
  }

  private wake(): void {
    this.pending = true;
    this.reading ??= (async () => {
      while (this.pending) {
        this.pending = false;
        for (;;) {
          const rows = await readPredictionsAfter(this.client, this.streamId, this.lastId, 500);
          for (const row of rows) {
            this.received.push(row.id);
            this.lastId = row.id;
          }
          if (rows.length < 500) break;
        }
      }
    })().finally(() => (this.reading = undefined));
  }

  async close(): Promise<void> {
    await this.reading?.catch(() => undefined);
    await this.client.query(`UNLISTEN ${STREAM_PREDICTIONS_CHANNEL}`).catch(() => undefined);
    this.client.release();
  }
}

/**
 * Compares the SSE ids a consumer received with the stream's persisted ids. The guarantee is at least once, with
 * the SSE id as the dedup key: every persisted prediction arrived at least once, and after dedup by id exactly
 * once, in persisted order, with nothing that is not in the table.
 */
export function checkIdDelivery(channel: string, received: readonly string[], persisted: readonly string[]) {
  const distinct = [...new Set(received)];
  const persistedSet = new Set(persisted);
  const got = new Set(received);
  const missing = persisted.filter((id) => !got.has(id));
  const unknown = distinct.filter((id) => !persistedSet.has(id));
  const inOrder = distinct.every((id, i) => i === 0 || BigInt(id) > BigInt(distinct[i - 1] ?? '0'));
  return {
    channel,
    ok: missing.length === 0 && unknown.length === 0 && distinct.length === persisted.length && inOrder,
    detail:
      `${received.length} received, ${distinct.length} distinct of ${persisted.length} persisted` +
      (missing.length ? `, ${missing.length} missing (first ${missing.slice(0, 3).join(', ')})` : '') +
      (unknown.length ? `, ${unknown.length} not in the table` : '') +
      (inOrder ? '' : ', out of order'),
  } satisfies DeliveryCheck;
}

/** Summaries received on `NOTIFY batch_runs`, by run id; `connections` counts (re)connections of the LISTEN. */
export class BatchRunsListener {
  readonly byRun = new Map<string, { count: number; statuses: string[] }>();
  connections = 0;
  private listener: ChannelListener | undefined;

  static async open(pool: Pool): Promise<BatchRunsListener> {
    const self = new BatchRunsListener();
    self.listener = await listenChannel({
      pool,
      channel: 'batch_runs',
      retryMs: 100,
      application: 'fault-suite-batch-runs',
      onReconnect: () => (self.connections += 1),
      onNotify: (payload) => {
        const summary = JSON.parse(payload) as { runId?: string; status?: string };
        const runId = summary.runId ?? '(no runId)';
        const entry = self.byRun.get(runId) ?? { count: 0, statuses: [] };
        entry.count += 1;
        entry.statuses.push(summary.status ?? '(no status)');
        self.byRun.set(runId, entry);
      },
    });
    return self;
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }
}

/** Waits (bounded) until `covered()` or the limit; the check that follows reports what is still missing. */
export async function settle(covered: () => boolean, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!covered() && Date.now() < deadline) await sleep(50);
}

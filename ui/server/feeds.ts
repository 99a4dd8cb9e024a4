/**
 * The dashboard's live feeds, each sent as Server-Sent Events by api/routes/ui.ts: Postgres NOTIFY relayed (one
 * LISTEN connection per channel, shared by every open page, opened for the first subscriber and closed after the
 * last; the payloads go out unchanged), and snapshots sampled on a timer only while someone is subscribed.
 */
import { listenChannel, type ChannelListener } from '../../db/listen.js';
import type { Pool } from '../../db/pool.js';
import type { Logger } from '../../logger.js';

export interface ChannelFeed {
  /** Calls `onPayload` for each NOTIFY until the returned function is called. */
  subscribe(onPayload: (payload: string) => void): () => void;
}

export function channelFeed(deps: { pool: Pool; logger: Logger }, channel: string): ChannelFeed {
  const subscribers = new Set<(payload: string) => void>();
  let listener: Promise<ChannelListener> | undefined;
  return {
    subscribe(onPayload) {
      subscribers.add(onPayload);
      listener ??= listenChannel({
        pool: deps.pool,
        channel,
        application: `ui-${channel.replace(/_/g, '-')}`,
        logger: deps.logger,
        onNotify: (payload) => subscribers.forEach((s) => s(payload)),
      });
      return () => {
        subscribers.delete(onPayload);
        if (subscribers.size === 0 && listener) {
          const closing = listener;
          listener = undefined;
          void closing.then((l) => l.close());
        }
      };
    },
  };
}

/**
 * A snapshot taken every `ms` while anyone is subscribed, for figures that have no NOTIFY (the API's own metrics
 * registry): one timer shared by every open page, started by the first subscriber (who gets a snapshot at once)
 * and stopped after the last; nothing is sampled while nobody watches.
 */
export function sampledFeed(sample: () => Promise<string> | string, ms: number, logger: Logger): ChannelFeed {
  const subscribers = new Set<(payload: string) => void>();
  let timer: NodeJS.Timeout | undefined;
  const take = async (to: Iterable<(payload: string) => void>) => {
    try {
      const payload = await sample();
      for (const s of to) s(payload);
    } catch (err) {
      logger.warn({ err }, 'dashboard feed: the sample failed');
    }
  };
  return {
    subscribe(onPayload) {
      subscribers.add(onPayload);
      void take([onPayload]);
      if (!timer) {
        timer = setInterval(() => void take(subscribers), ms);
        timer.unref();
      }
      return () => {
        subscribers.delete(onPayload);
        if (subscribers.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
  };
}

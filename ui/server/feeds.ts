/**
 * Postgres NOTIFY relayed to the dashboard: one LISTEN connection per channel, shared by every open page, opened
 * for the first subscriber and closed after the last. The payloads go out unchanged as Server-Sent Events.
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

/**
 * Versions registered while processes run (a retraining moves a new version into MODEL_DIR, then NOTIFYs
 * `model_versions`): each API and worker process loads the new version into its own scorer.
 */
import { MODEL_VERSIONS_CHANNEL } from '../activities/retraining.js';
import { listenChannel, type ChannelListener } from '../db/listen.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { ModelScorer } from '../scoring/scorer.js';

export function followModelVersions(
  pool: Pool,
  scorer: ModelScorer,
  logger?: Logger,
): Promise<ChannelListener> {
  return listenChannel({
    pool,
    channel: MODEL_VERSIONS_CHANNEL,
    ...(logger ? { logger } : {}),
    onNotify: (payload) => {
      let v: { name?: unknown; version?: unknown };
      try {
        v = JSON.parse(payload) as typeof v;
      } catch {
        return;
      }
      const { name, version } = v;
      if (typeof name !== 'string' || typeof version !== 'string') return;
      const model = `${name}@${version}`;
      scorer
        .addVersion(name, version)
        .then(() => logger?.info({ model }, 'registered version loaded'))
        .catch((err: unknown) =>
          logger?.error({ model, err: (err as Error).message }, 'registered version refused'),
        );
    },
  });
}

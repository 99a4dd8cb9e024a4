/** Activity proxies and defaults of the streaming workflow (sandbox-safe: activities imported as types only). */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { StreamOptions } from '../contracts/stream.js';

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  canAfterEvents: 5_000,
  dedupWindow: 10_000,
  maxRun: 200,
  localActivities: true,
  maxAttempts: 5,
  retryInitialMs: 200,
  maxCarriedQueue: 500,
  canAfterHistory: 10_000,
};

/** Scoring: capped attempts with exponential backoff, as a regular and as a local activity. */
export function scoringActivities(options: StreamOptions) {
  const retry = {
    initialInterval: options.retryInitialMs,
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: options.maxAttempts,
    nonRetryableErrorTypes: ['ModelNotFoundError'],
  };
  return {
    remote: proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry }),
    local: proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry }),
  };
}

/** Bookkeeping (model resolution, dead letters, spill): retried until it succeeds. */
export const control = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

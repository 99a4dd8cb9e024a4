/**
 * Activity proxies of the streaming workflow (sandbox-safe: activities imported as types only). The options' defaults
 * are STREAM_OPTION_DEFAULTS (contracts/stream.ts), read by config.ts too.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { StreamOptions } from '../contracts/stream.js';

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

/**
 * The continue-as-new announcements, best effort (two attempts): producers that miss one only fall back to the
 * server's own retry path. `closing` is a regular activity on purpose: the workflow task ends while it runs, so
 * the signals sent before producers paused are delivered with its result, and the next task can continue as new
 * without racing one. (A timer would do the same, but the dev server fires short timers up to a second late.)
 */
const announceRetry = { initialInterval: '50 milliseconds', maximumAttempts: 2 };
export const rollover = {
  closing: proxyActivities<Activities>({ startToCloseTimeout: '5 seconds', retry: announceRetry })
    .announceStreamRollover,
  open: proxyLocalActivities<Activities>({ startToCloseTimeout: '2 seconds', retry: announceRetry })
    .announceStreamRollover,
};

/** Bookkeeping (model resolution, dead letters, spill): retried until it succeeds. */
export const control = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

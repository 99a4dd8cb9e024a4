import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PingInput, PingResult } from '../contracts/temporal.js';

const { storePing } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 10 },
});

/** End-to-end check: a workflow that writes one row to Postgres through an activity. */
export async function ping(input: PingInput): Promise<PingResult> {
  return storePing(input);
}

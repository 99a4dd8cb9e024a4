/**
 * The monitoring workflow of a deployment: computes one day's drift window of its batch source against the card's
 * reference (stored; computing it again replaces it; one alert per drifted window). A Schedule starts it daily for
 * the previous day; a schedule backfill computes past windows.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { scheduledPartition } from '../contracts/batch-input.js';
import type { DriftWindow, MonitorInput } from '../contracts/monitoring.js';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
  },
});

export async function monitorDeployment(input: MonitorInput): Promise<DriftWindow> {
  const scheduledAt = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
  const window =
    input.from !== undefined && input.to !== undefined
      ? { from: input.from, to: input.to }
      : scheduledPartition(scheduledAt ?? new Date(), input.timeZone ?? 'UTC');
  return acts.computeDriftWindow({ deployment: input.deployment, ...window });
}

/**
 * The monitoring workflows. `monitorDeployment` computes a deployment's windows (drift and performance of each mode
 * it serves: the batch source and sink, online and stream predictions) against the card's reference; stored per
 * window (computing it again replaces it), one alert per drifted window, whose webhook is delivered once. A Schedule
 * starts it daily for the previous day; a schedule backfill computes past windows. `deliverMonitoringAlert`
 * delivers the webhook of an alert raised outside a workflow (the API's POST /drift), its id keyed by the alert.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { scheduledPartition } from '../contracts/batch-input.js';
import type { MonitorInput, MonitorResult } from '../contracts/monitoring.js';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const retry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
};
// The windows' scans heartbeat: a worker lost mid-scan is noticed in 15 s, not after the 10 minutes a scan may take.
const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '15 seconds',
  retry,
});
/** One row written: a lost worker's attempt is given up after 30 s. */
const record = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry });
export const ALERT_WEBHOOK_ATTEMPTS = 5;
const webhook = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...retry, maximumAttempts: ALERT_WEBHOOK_ATTEMPTS },
});

const errorMessage = (err: unknown): string => {
  const cause = (err as { cause?: { message?: string } }).cause;
  return cause?.message ?? (err as Error).message;
};

/** Delivers an alert's webhook (retried, then recorded however it ended); never fails its caller. */
export async function deliverAlert(key: string): Promise<string> {
  let outcome: { status: string; attempts: number };
  try {
    outcome = await webhook.deliverAlertWebhook({ key });
  } catch (err) {
    outcome = { status: `failed: ${errorMessage(err)}`, attempts: ALERT_WEBHOOK_ATTEMPTS };
  }
  await record.recordAlertDelivery({ key, ...outcome });
  return outcome.status;
}

export async function monitorDeployment(input: MonitorInput): Promise<MonitorResult> {
  const scheduledAt = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
  const window =
    input.from !== undefined && input.to !== undefined
      ? { from: input.from, to: input.to }
      : scheduledPartition(scheduledAt ?? new Date(), input.timeZone ?? 'UTC');
  const result = await acts.monitorWindows({
    deployment: input.deployment,
    ...window,
    ...(input.modes ? { modes: input.modes } : {}),
  });
  // Every drifted window's alert, raised now or before (a delivery cut short is finished; a delivered one is not sent again).
  for (const w of result.windows) if (w.alertKey) await deliverAlert(w.alertKey);
  return result;
}

export async function deliverMonitoringAlert(input: { key: string }): Promise<string> {
  return deliverAlert(input.key);
}

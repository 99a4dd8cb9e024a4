/**
 * Names shared by every Temporal process: search attributes and the ping workflow's contract.
 * Task queue and namespace come from config (TEMPORAL_TASK_QUEUE, TEMPORAL_NAMESPACE).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The model version a run pinned, e.g. `ride-duration@2`. */
export const MODEL_VERSION_KEY = defineSearchAttributeKey('ModelVersion', SearchAttributeType.KEYWORD);
/** The data partition a run covers, e.g. `2021-02-01` or a stream id. */
export const PARTITION_KEY = defineSearchAttributeKey('PartitionKey', SearchAttributeType.KEYWORD);

/** A rollout's status (running, paused, awaiting_approval, succeeded, rolled_back, rejected, aborted). */
export const ROLLOUT_STATUS_KEY = defineSearchAttributeKey('RolloutStatus', SearchAttributeType.KEYWORD);
/** A rollout's step as `<step>/<steps>:<canary>%`, e.g. `2/4:25%`. */
export const ROLLOUT_STEP_KEY = defineSearchAttributeKey('RolloutStep', SearchAttributeType.KEYWORD);

/** Custom search attributes this project registers on the Temporal server. */
export const SEARCH_ATTRIBUTES = [
  MODEL_VERSION_KEY,
  PARTITION_KEY,
  ROLLOUT_STATUS_KEY,
  ROLLOUT_STEP_KEY,
] as const;

/** Workflow type of the end-to-end check: a workflow that writes one row through an activity. */
export const PING_WORKFLOW = 'ping';

export interface PingInput {
  id: string;
  message: string;
}

export interface PingResult {
  id: string;
  message: string;
  storedAt: string;
}

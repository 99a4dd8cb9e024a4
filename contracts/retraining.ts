/**
 * Retraining: what crosses the boundary between the API, the schedule, the alert hook, the workflow and its
 * activities. A run trains with the deployment file's command into a staging folder, compares the candidate with
 * the champion on the latest labelled window, and registers it (then starts a rollout) only when it is better.
 */

export const RETRAINING_WORKFLOW = 'retraining';
/** What a retraining schedule starts (workflows/retraining-schedule.ts): it starts the retraining under its one id. */
export const SCHEDULED_RETRAINING_WORKFLOW = 'scheduledRetraining';
/** One retraining at a time per deployment (the id is scoped by task queue, as the controllers are). */
export const retrainingWorkflowId = (taskQueue: string, deployment: string) =>
  `${taskQueue}/retrain-${deployment}`;
export const retrainingScheduleId = (deployment: string) => `retrain-${deployment}`;

export type RetrainingTrigger = 'api' | 'schedule' | 'alert';

export interface RetrainingInput {
  deployment: string;
  trigger: RetrainingTrigger;
  /** Why it was started (the caller's reason, the alert, the schedule). */
  reason: string;
  /** ISO bounds of the labelled window compared on (default: the deployment's window_days before the latest label). */
  from?: string;
  to?: string;
  /** ISO bounds the training command gets as `{from}`/`{to}` (default: the time since the last training until now). */
  trainFrom?: string;
  trainTo?: string;
}

/** `training` .. `registering` while it runs; the rest are final. */
export type RetrainingStatus =
  'training' | 'evaluating' | 'registering' | 'registered' | 'refused' | 'failed' | 'cancelled';

export const FINAL_RETRAINING: readonly RetrainingStatus[] = ['registered', 'refused', 'failed', 'cancelled'];

/** What `beginRetraining` fixed once for the run (a retry reuses it: same version, same staging folder). */
export interface RetrainingPlan {
  runId: string;
  deployment: string;
  model: string;
  version: string;
  champion: string;
  /** The command with its placeholders filled in. */
  argv: string[];
  /** `<model dir>/.staging/<run>`: the command's `{out}`. */
  stagingDir: string;
  timeoutMinutes: number;
}

export type RetrainingMetric = 'accuracy' | 'log_loss' | 'mae' | 'rmse';

/** The comparison on the labelled window. */
export interface RetrainingFigures {
  metric: RetrainingMetric;
  /** The labelled window (label arrival times). */
  from: string;
  to: string;
  rows: number;
  champion: number | null;
  candidate: number | null;
  margin: number;
  /** The candidate's gain over the champion on the metric (positive = better, whichever way the metric points). */
  gain: number | null;
  /** Rows a model refused (a field out of its signature's bounds), by model. */
  rejected: { champion: number; candidate: number };
  /** The candidate's model.onnx sha256 (registration moves exactly this one). */
  sha256: string;
}

export interface RetrainingResult {
  runId: string;
  deployment: string;
  status: RetrainingStatus;
  version: string | null;
  /** Why it ended as it did (the figures in words, the failing command's last lines, the card's problems). */
  outcome: string;
  figures: RetrainingFigures | null;
  /** The rollout a registered version started. */
  rollout: string | null;
}

/** One run as the API lists it (the `retraining_runs` row). */
export interface RetrainingRun extends RetrainingResult {
  model: string;
  trigger: RetrainingTrigger;
  reason: string;
  command: string[];
  attempts: number;
  startedAt: string;
  endedAt: string | null;
}

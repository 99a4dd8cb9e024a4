/**
 * A deployment binds one model to its data in the three modes: one declared file per deployment
 * (`deployments/<name>.json`), checked with this schema at start. The format is documented in docs/deployments.md.
 */
import { z } from 'zod';

const identifier = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier (letters, digits, "_")');
/** `table` or `schema.table`. */
const tableName = z
  .string()
  .regex(
    /^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/,
    'must be a lower-case table name, optionally schema.table',
  );

export const DEPLOYMENT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const batchSourceSchema = z.strictObject({
  /** Table or view the records come from. */
  table: tableName,
  /** Unique key column: predictions are exactly-once per key and model version. */
  key: identifier,
  /**
   * Event-time column (timestamp or timestamptz): partitions (from/to, the schedule's previous day) and page order
   * (event_time, key). Without it a run scores the whole table in key order.
   */
  event_time: identifier.optional(),
  /** Signature field -> column; a field not named here reads the column of the same name (lower-cased). */
  columns: z.record(z.string(), identifier).default({}),
  /** Prediction name (the regression name, or "label") -> column with the true value, for metrics. */
  labels: z.record(z.string(), identifier).default({}),
});

export const batchSinkSchema = z.strictObject({
  /** Created from the signature when missing (default `<deployment>_predictions`, `_` for `-`). */
  table: tableName.optional(),
  /** Rejected records (default `<sink table>_rejected`). */
  rejected_table: tableName.optional(),
  /** Generic column name -> column name in the table (e.g. {"duration": "predicted_duration"}). */
  columns: z.record(z.string(), identifier).default({}),
});

export const batchScheduleSchema = z.strictObject({
  /** Temporal schedule id (default `batch-<deployment>`). */
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/)
    .optional(),
  /** Five-field cron; each run scores the previous partition in `time_zone`. */
  cron: z.string().min(9),
  time_zone: z.string().default('UTC'),
  /** Rows per chunk activity. */
  chunk_size: z.number().int().positive().optional(),
  paused: z.boolean().default(false),
});

/** Placeholders a retraining command may carry; the worker fills them in (docs/monitoring.md, Retraining). */
export const RETRAINING_PLACEHOLDERS = [
  'python',
  'out',
  'version',
  'model',
  'deployment',
  'from',
  'to',
] as const;
const PLACEHOLDER = /\{([a-z_]+)\}/g;

export const retrainingSchema = z.strictObject({
  /**
   * The training program and its arguments, run without a shell from the repository root: `{out}` is the staging
   * folder it writes `<model>/<version>/` into, `{version}` the new version, `{python}` the training venv's python,
   * `{from}`/`{to}` the run's training window when it was given one (the API's train_from/train_to), else the
   * time since the last training until now (ISO times). Only this file names what runs; the API never does.
   */
  command: z
    .array(
      z
        .string()
        .min(1)
        .refine(
          (arg) =>
            [...arg.matchAll(PLACEHOLDER)].every((m) =>
              (RETRAINING_PLACEHOLDERS as readonly string[]).includes(m[1] ?? ''),
            ),
          {
            message: `holds an unknown placeholder (known: ${RETRAINING_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`,
          },
        ),
    )
    .min(1, 'must name the program to run, e.g. ["{python}", "models/train/<script>.py", "--out", "{out}"]')
    .refine((argv) => argv.some((a) => a.includes('{out}')), {
      message: 'must pass {out}: the staging folder the new version is written into',
    }),
  /** What the candidate and the champion are compared on: accuracy or log_loss (classifier), mae or rmse (regression). */
  metric: z.enum(['accuracy', 'log_loss', 'mae', 'rmse']),
  /** How much better than the champion the candidate must be on the metric (its own units; 0: any better). */
  margin: z.number().min(0).default(0),
  /** The labelled window compared on: labels received in the last `window_days` before the latest one. */
  window_days: z.number().positive().max(366).default(7),
  /** Fewest labelled rows in the window; fewer refuses the candidate (no evidence, no registration). */
  min_rows: z.number().int().positive().default(20),
  /** At most this many labelled rows (the newest). */
  max_rows: z.number().int().positive().max(1_000_000).default(100_000),
  /** The training command is killed after this long (and the attempt fails). */
  timeout_minutes: z
    .number()
    .positive()
    .max(24 * 60)
    .default(60),
  /** A drift alert on this deployment starts a retraining. */
  on_alert: z.boolean().default(false),
  schedule: z
    .strictObject({
      id: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/)
        .optional(),
      cron: z.string().min(9),
      time_zone: z.string().default('UTC'),
      paused: z.boolean().default(false),
    })
    .optional(),
  /** The rollout a registered version starts (POST /deployments/{name}/rollouts' fields). */
  rollout: z
    .strictObject({
      approval: z.enum(['auto', 'manual']).default('manual'),
      steps: z.array(z.number()).default([5, 25, 50, 100]),
      step_seconds: z.number().default(300),
      shadow: z.number().default(10),
      gates: z
        .strictObject({
          max_error_rate: z.number().optional(),
          max_p99_ms: z.number().optional(),
          max_mean_diff: z.number().optional(),
          max_label_error: z.number().optional(),
          min_samples: z.number().int().optional(),
        })
        .default({}),
    })
    .default({ approval: 'manual', steps: [5, 25, 50, 100], step_seconds: 300, shadow: 10, gates: {} }),
});
export type RetrainingSpec = z.infer<typeof retrainingSchema>;

export const deploymentSchema = z.strictObject({
  name: z.string().regex(DEPLOYMENT_NAME, 'must be lower-case letters, digits or "-"'),
  description: z.string().optional(),
  /** The deployment that requests naming none use (POST /batch-runs without `deployment`, the plain stream API). */
  default: z.boolean().default(false),
  /** `name@alias` (or `name@version`, or `name` for `name@production`). */
  model: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*(@[0-9A-Za-z._-]+)?$/, 'must be name, name@version or name@alias'),
  /** The record field that identifies a record in online and stream predictions (for late labels). */
  key_field: z.string().optional(),
  batch: z
    .strictObject({
      source: batchSourceSchema,
      sink: batchSinkSchema.default({ columns: {} }),
      schedule: batchScheduleSchema.optional(),
    })
    .optional(),
  streaming: z
    .strictObject({
      /** Record fields filled from the event when absent: field -> "received_at". */
      defaults: z.record(z.string(), z.literal('received_at')).default({}),
    })
    .optional(),
  online: z.strictObject({}).optional(),
  monitoring: z
    .strictObject({
      /** A field whose PSI against the card's reference is above this has drifted (default 0.1: a moderate shift by the usual reading; 0.25 is a large one). */
      psi_threshold: z.number().positive().default(0.1),
      /** Also drifted when a numeric field's (or the prediction's) KS is above this (default: PSI alone decides). */
      ks_threshold: z.number().positive().max(1).optional(),
      /** A window with fewer rows (default 1) is stored but not judged (no alert): small online windows are noise. */
      min_rows: z.number().int().positive().optional(),
      /** A Temporal Schedule that computes each day's drift window of the batch source (the previous day). */
      schedule: z
        .strictObject({
          id: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/)
            .optional(),
          cron: z.string().min(9),
          time_zone: z.string().default('UTC'),
          paused: z.boolean().default(false),
        })
        .optional(),
    })
    .optional(),
  /** Retraining: the training command, the comparison with the champion, and the rollout of a better version. */
  retraining: retrainingSchema.optional(),
});

export type DeploymentSpec = z.infer<typeof deploymentSchema>;
export type BatchSource = z.infer<typeof batchSourceSchema>;
export type BatchSink = z.infer<typeof batchSinkSchema>;

/** A deployment as the API and the CLI list it. */
export interface DeploymentView {
  name: string;
  file: string;
  model: string;
  status: 'ready' | 'refused';
  /** Why it was refused, naming both sides of each mismatch. */
  problems: string[];
  /** Modes the deployment serves now (a waiting mode is left out until it can run). */
  modes: ('online' | 'batch' | 'streaming')[];
  /** Modes that cannot run yet and why, as "<mode>: <reason>" (a batch source table not loaded yet). */
  waiting: string[];
  batch?: { source: string; sink: string; rejected: string; schedule?: string };
}

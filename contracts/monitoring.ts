/** Monitoring: labels (late ground truth) and performance per deployment, mode, version and window. */

export interface LabelInput {
  key: string | number;
  label: number | string;
}

export type Window = 'hour' | 'day';
export const WINDOWS: readonly Window[] = ['hour', 'day'];

/** One mode's figures for one version over one window (labelled predictions only). */
export interface PerformanceRow {
  mode: 'online' | 'streaming' | 'batch';
  version: string;
  /** Start of the window (ISO); for batch, the start of the run's partition day. */
  window: string;
  labelled: number;
  /** Regression. */
  mae?: number | null;
  rmse?: number | null;
  /** Regression, rows whose label is inside the card's declared target range. */
  inRange?: { labelled: number; mae: number | null; rmse: number | null };
  /** Classification. */
  accuracy?: number | null;
  perClass?: { label: string; labelled: number; recall: number | null }[];
}

/** A field's distribution in the reference (training) data. */
export type FieldProfile =
  | {
      kind: 'numeric';
      /** inner bin edges (deciles) */ edges: number[];
      /** shares of the edges.length + 1 bins */ shares: number[];
    }
  | { kind: 'categorical'; /** share per value; "(other)" holds the rest */ shares: Record<string, number> };

/** Written into the card (`monitoring.reference`) by `npm run models -- profile`. */
export interface ReferenceProfile {
  /** Where it was computed from, e.g. `rides 2021-01-01..2021-02-01`. */
  source: string;
  rows: number;
  features: Record<string, FieldProfile>;
  /** The model's own predictions over the same rows (`name`: the regression's name, or `label`). */
  prediction?: FieldProfile & { name: string };
}

/** The modes whose windows are monitored. */
export type MonitoredMode = 'batch' | 'online' | 'streaming';
export const MONITORED_MODES: readonly MonitoredMode[] = ['batch', 'online', 'streaming'];
/** The field name under which a window reports the prediction's own drift (no signature field looks like it). */
export const PREDICTION_FIELD = '(prediction)';

/**
 * Histograms of a sample: its rows and, per field, the count of each bin. A numeric field's bin is the number of the
 * reference's edges at or below the value (Postgres width_bucket), a categorical field's bin the value as text.
 */
export interface BinCounts {
  rows: number;
  fields: Record<string, Record<string, number>>;
  /** A batch run's pages with labels from the source: what the window's performance is computed from. */
  performance?: PerformanceTally;
}

/** Sums over labelled rows: regression errors (also inside the card's target range), or right answers per class. */
export interface PerformanceTally {
  labelled: number;
  sumAbs: number;
  sumSq: number;
  inRange?: { labelled: number; sumAbs: number; sumSq: number };
  classes?: Record<string, { labelled: number; right: number }>;
}

export interface DriftFeature {
  field: string;
  psi: number;
  /** Numeric fields: the largest gap between the binned cumulative shares. */
  ks?: number;
}

export interface DriftWindow {
  deployment: string;
  mode: MonitoredMode;
  version: string;
  from: string;
  to: string;
  rows: number;
  features: DriftFeature[];
  threshold: number;
  drifted: string[];
  /** The alert this window raised (one per window, whoever computes it again). */
  alert: 'raised' | 'already raised' | null;
  /** The alert's dedup key (its deliveries' Idempotency-Key), when the window has drifted. */
  alertKey?: string;
  /** Performance of the window's labelled predictions (null: none labelled yet). */
  performance?: PerformanceRow | null;
}

/** What an alert's NOTIFY and webhook carry. */
export interface MonitoringAlert {
  key: string;
  deployment: string;
  kind: 'drift';
  mode: MonitoredMode;
  version: string;
  from: string;
  to: string;
  drifted: string[];
  features: DriftFeature[];
  threshold: number;
}

export const alertKey = (
  a: Pick<MonitoringAlert, 'deployment' | 'kind' | 'mode' | 'version' | 'from' | 'to'>,
) => `${a.kind}:${a.deployment}:${a.mode}:${a.version}:${a.from}..${a.to}`;

export const ALERTS_CHANNEL = 'monitoring_alerts';

export const MONITOR_WORKFLOW = 'monitorDeployment';
/** Delivers one alert's webhook (workflow id `alert-<key>`: one delivery per window whoever asks). */
export const ALERT_WORKFLOW = 'deliverMonitoringAlert';
export const alertWorkflowId = (key: string) => `alert-${key}`;
export const monitorScheduleId = (deployment: string) => `monitor-${deployment}`;

export interface MonitorInput {
  deployment: string;
  /** Naive ISO bounds of the window; a scheduled run takes the previous day in `timeZone`. */
  from?: string;
  to?: string;
  timeZone?: string;
  /** The modes whose windows are computed (default: every mode the deployment serves). */
  modes?: MonitoredMode[];
}

/** What a monitoring run computed: one window per mode and version with predictions (or the batch source). */
export interface MonitorResult {
  from: string;
  to: string;
  windows: DriftWindow[];
  /** Modes or versions left out, and why (no reference profile, no rows). */
  skipped: string[];
}

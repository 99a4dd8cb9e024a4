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
}

export interface DriftFeature {
  field: string;
  psi: number;
  /** Numeric fields: the largest gap between the binned cumulative shares. */
  ks?: number;
}

export interface DriftWindow {
  deployment: string;
  version: string;
  from: string;
  to: string;
  rows: number;
  features: DriftFeature[];
  threshold: number;
  drifted: string[];
  /** The alert this window raised (one per window, whoever computes it again). */
  alert: 'raised' | 'already raised' | null;
}

export const ALERTS_CHANNEL = 'monitoring_alerts';

export const MONITOR_WORKFLOW = 'monitorDeployment';
export const monitorScheduleId = (deployment: string) => `monitor-${deployment}`;

export interface MonitorInput {
  deployment: string;
  /** Naive ISO bounds of the window; a scheduled run takes the previous day in `timeZone`. */
  from?: string;
  to?: string;
  timeZone?: string;
}

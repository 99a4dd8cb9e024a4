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

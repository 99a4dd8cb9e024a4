/**
 * The model core's contract, shared by the API, the batch and the streaming workers.
 * A model reference is `name`, `name@version` or `name@alias` (`ride-duration` = `ride-duration@production`).
 */

/** One ride as every mode receives it: the TLC columns the models read. */
export interface RideInput {
  PULocationID: number;
  DOLocationID: number;
  trip_distance: number;
  /**
   * Naive local New York time, `YYYY-MM-DDTHH:MM:SS` (no offset), as in the TLC files. Models that use the pickup
   * time need it; callers that have none pass the time the ride was requested.
   */
  pickup_datetime?: string;
}

export interface ResolvedModel {
  name: string;
  version: string;
}

/** A row that failed validation; `field` names the input (e.g. `trip_distance`). */
export interface Rejection {
  index: number;
  field: string;
  reason: string;
}

export interface ScoreOutput {
  /** The exact version that scored every row of this call (aliases are resolved once per call). */
  model: ResolvedModel;
  /** `predictions[i]` is the duration in minutes for `rows[i]`, or `null` when `rows[i]` was rejected. */
  predictions: (number | null)[];
  rejections: Rejection[];
}

export interface Scorer {
  /** Resolves an alias or bare name to a concrete, loaded version; throws ModelNotFoundError otherwise. */
  resolve(ref: string): Promise<ResolvedModel>;
  /** Scores a batch in one ONNX run per version; invalid rows are rejected without failing the batch. */
  score(ref: string | ResolvedModel, rows: readonly RideInput[]): Promise<ScoreOutput>;
}

export const DEFAULT_MODEL_NAME = 'ride-duration';
export const DEFAULT_ALIAS = 'production';
export const DEFAULT_MODEL_REF = `${DEFAULT_MODEL_NAME}@${DEFAULT_ALIAS}`;

/**
 * The model core's contract, shared by the API, the batch and the streaming workers. The core knows a model only
 * through its card (`model.json`): a record is whatever the card's signature declares, an output whatever its graph
 * serves. A model reference is `name`, `name@version` or `name@alias` (`name` = `name@production`).
 */

/** One record as a caller sends it: named fields of the card's signature (extra fields are ignored). */
export type FieldRecord = Readonly<Record<string, unknown>>;

export interface ResolvedModel {
  name: string;
  version: string;
}

/** A record that failed validation; `field` names the signature field (or `row` for a non-object). */
export interface Rejection {
  index: number;
  field: string;
  reason: string;
}

/** The element types a served tensor may have. */
export type TensorDtype = 'int64' | 'int32' | 'float32' | 'float64' | 'string' | 'bool';

/** Values of one served output for the scored rows only, row-major: `width` values per scored row. */
export type OutputData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | string[];

export interface OutputColumn {
  dtype: TensorDtype;
  /** Values per row (1 for a `[-1]` or `[-1, 1]` output, C for class probabilities). */
  width: number;
  data: OutputData;
}

/** A prediction as JSON for one record: by task (see docs/models.md). */
export type PredictionValue = number | string | boolean | number[] | string[] | Record<string, number>;
export type Prediction = Record<string, PredictionValue>;

/** The primary value of one row: the regression value or the class label; null when the row was rejected. */
export type Primary = number | string | null;

export interface ScoreOutput {
  /** The exact version that scored every row of this call (aliases are resolved once per call). */
  model: ResolvedModel;
  /** `predictions[i]` is the primary value for `rows[i]` (see Primary), or null when `rows[i]` was rejected. */
  predictions: Primary[];
  /** `scored[k]` is the index in `rows` of the k-th scored row; outputs are aligned with it. */
  scored: Int32Array;
  /** Every served output by name, for the scored rows. */
  outputs: Record<string, OutputColumn>;
  rejections: Rejection[];
}

export interface Scorer {
  /** Resolves an alias or bare name to a concrete, loaded version; throws ModelNotFoundError otherwise. */
  resolve(ref: string): Promise<ResolvedModel>;
  /** Scores records in ONNX runs of one version; invalid records are rejected without failing the call. */
  score(ref: string | ResolvedModel, rows: readonly FieldRecord[]): Promise<ScoreOutput>;
}

export const DEFAULT_ALIAS = 'production';

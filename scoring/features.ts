/**
 * Feature rules: each graph input is computed from signature fields by a declared rule, either a cast of the
 * field(s) to the input's dtype or a part of a timestamp in a time zone. Rules read the validated columns of
 * scoring/signature.ts and write one typed array per input, row-major for `[-1, n]` inputs.
 */
import type { TensorDtype } from '../contracts/scoring.js';
import type { FieldSpec, InputSpec, TimePart } from './model-card.js';
import type { FieldColumn, PreparedRecords, TimeColumn } from './signature.js';
import { dayOfWeek, dayOfYear } from './timestamp.js';

export type TensorData = BigInt64Array | Int32Array | Float32Array | Float64Array | Uint8Array | string[];

/** One graph input's rule, checked against the signature once at load. */
export interface FeatureRule {
  input: string;
  dtype: TensorDtype;
  sources: string[];
  part?: TimePart;
  /** Rows (the first dimension) then the input's width. */
  width: number;
  /** The graph input is 1-D (`[-1]`): fed as `[rows]`, not `[rows, 1]`. */
  flat?: boolean;
}

/** Which field types each dtype can be cast from (a timestamp feeds an input only through a part). */
const CASTS: Record<TensorDtype, readonly FieldSpec['type'][]> = {
  int64: ['integer', 'boolean'],
  int32: ['integer', 'boolean'],
  float32: ['integer', 'number', 'boolean'],
  float64: ['integer', 'number', 'boolean'],
  string: ['string'],
  bool: ['boolean'],
};
const FLOATS: readonly TensorDtype[] = ['float32', 'float64'];
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** An integer field whose declared bounds (or allowed values) keep it inside int32, so a cast cannot wrap. */
const fitsInt32 = (f: FieldSpec) =>
  f.allowed
    ? f.allowed.every((v) => typeof v === 'number' && v >= INT32_MIN && v <= INT32_MAX)
    : f.min !== undefined && f.max !== undefined && f.min >= INT32_MIN && f.max <= INT32_MAX;

/** Checks one input's rule against the signature; returns the compiled rule or the reason it cannot work. */
export function compileRule(input: InputSpec, fields: readonly FieldSpec[]): FeatureRule | string {
  const sources = typeof input.from === 'string' ? [input.from] : input.from;
  const width = sources.length;
  for (const source of sources) {
    const field = fields.find((f) => f.name === source);
    if (!field)
      return `input "${input.name}" reads field "${source}", which the signature does not declare (fields: ${fields.map((f) => f.name).join(', ')})`;
    if (input.part) {
      if (field.type !== 'timestamp')
        return `input "${input.name}" takes part "${input.part}" of field "${source}", which is ${field.type}, not timestamp`;
      if (input.time_zone && input.time_zone !== (field.time_zone ?? 'UTC'))
        return `input "${input.name}" asks for time zone ${input.time_zone} but field "${source}" is read in ${field.time_zone ?? 'UTC'}; declare the time zone on the field`;
      if (input.dtype === 'string' || input.dtype === 'bool')
        return `input "${input.name}" is ${input.dtype}, but a timestamp part is a number (use int64, int32, float32 or float64)`;
    } else if (!CASTS[input.dtype].includes(field.type)) {
      return `input "${input.name}" is ${input.dtype} but field "${source}" is ${field.type} (${input.dtype} inputs cast from ${CASTS[input.dtype].join(' or ')}${field.type === 'timestamp' ? '; a timestamp needs a "part"' : ''})`;
    }
    const nullable = field.nullable === true && field.default === undefined;
    if (nullable && input.part)
      return `field "${source}" is a nullable timestamp without a default, so input "${input.name}" would have no value for a missing time: give the field a "default" (e.g. "now")`;
    if (input.dtype === 'int32' && field.type === 'integer' && !fitsInt32(field))
      return `input "${input.name}" is int32 but field "${source}" allows values outside it: give the field min/max within ${INT32_MIN}..${INT32_MAX}`;
    if (nullable && !FLOATS.includes(input.dtype))
      return `field "${source}" is nullable without a default, but input "${input.name}" is ${input.dtype} (only float inputs take a missing value, as NaN): give the field a "default"`;
  }
  return {
    input: input.name,
    dtype: input.dtype,
    sources,
    ...(input.part ? { part: input.part } : {}),
    width,
  };
}

/** Creates the typed array of a dtype. */
export function allocate(dtype: TensorDtype, size: number): TensorData {
  switch (dtype) {
    case 'int64':
      return new BigInt64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'bool':
      return new Uint8Array(size);
    case 'string':
      return new Array<string>(size).fill('');
  }
}

function timePart(c: TimeColumn, part: TimePart, k: number): number {
  switch (part) {
    case 'hour':
      return c.hour[k] ?? 0;
    case 'fractional_hour':
      // Float64 first, then the array's own rounding (float32 round-to-nearest, as numpy's astype does).
      return (c.hour[k] ?? 0) + (c.minute[k] ?? 0) / 60;
    case 'day_of_week':
      return dayOfWeek(c.year[k] ?? 0, c.month[k] ?? 0, c.day[k] ?? 0);
    case 'month':
      return c.month[k] ?? 0;
    case 'day_of_year':
      return dayOfYear(c.year[k] ?? 0, c.month[k] ?? 0, c.day[k] ?? 0);
    case 'year':
      return c.year[k] ?? 0;
  }
}

/** Writes column `j` of the input for valid rows `from` (inclusive) to `to` (exclusive). */
function fill(out: TensorData, rule: FeatureRule, column: FieldColumn, j: number, from: number, to: number) {
  const w = rule.width;
  if (column.kind === 'string') {
    const values = column.values;
    const target = out as string[];
    for (let k = from; k < to; k++) target[(k - from) * w + j] = values[k] ?? '';
    return;
  }
  if (column.kind === 'time') {
    const part = rule.part ?? 'year';
    if (out instanceof BigInt64Array)
      for (let k = from; k < to; k++) out[(k - from) * w + j] = BigInt(timePart(column, part, k));
    else if (!Array.isArray(out))
      for (let k = from; k < to; k++) out[(k - from) * w + j] = timePart(column, part, k);
    return;
  }
  const values = column.values;
  if (out instanceof BigInt64Array) {
    for (let k = from; k < to; k++) out[(k - from) * w + j] = BigInt(values[k] ?? 0);
  } else if (Array.isArray(out)) {
    for (let k = from; k < to; k++) out[(k - from) * w + j] = String(values[k]);
  } else if (w === 1 && (out instanceof Float32Array || out instanceof Float64Array)) {
    out.set(values.subarray(from, to));
  } else {
    for (let k = from; k < to; k++) out[(k - from) * w + j] = values[k] ?? 0;
  }
}

/** Builds one typed array per input for valid rows `from` to `to`. */
export function buildFeatures(
  prepared: PreparedRecords,
  rules: readonly FeatureRule[],
  from: number,
  to: number,
): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const rule of rules) {
    const data = allocate(rule.dtype, (to - from) * rule.width);
    rule.sources.forEach((source, j) => {
      const column = prepared.columns.get(source);
      if (column) fill(data, rule, column, j, from, to);
    });
    out.set(rule.input, data);
  }
  return out;
}

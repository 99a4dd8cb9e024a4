/**
 * Open Inference Protocol (V2) infer requests: the JSON header (with or without the binary tensor data extension)
 * split from the body, parsed with zod, and every input checked against the model card (names, datatypes, shapes,
 * value counts, byte sizes) before it becomes typed columns. Every problem is an InferenceError naming the input.
 */
import { z } from '@hono/zod-openapi';
import type { TensorDtype } from '../../contracts/scoring.js';
import { allocate, type TensorData } from '../../scoring/features.js';
import type { InputSpec } from '../../scoring/model-card.js';
import { fieldPath } from '../env.js';
import { InferenceError } from '../errors.js';
import type { TensorRows } from '../online.js';

/** V2 datatype of each tensor dtype the cards may declare. */
export const DATATYPES = {
  int64: 'INT64',
  int32: 'INT32',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
  bool: 'BOOL',
} as const satisfies Record<TensorDtype, string>;
/** Bytes per element in the binary extension (BYTES elements are length-prefixed instead). */
const BYTES_PER = { int64: 8, int32: 4, float32: 4, float64: 8, bool: 1, string: 0 } as const;

const parameters = z.record(z.string(), z.unknown());

export const InferRequestSchema = z
  .object({
    id: z.string().max(256).optional(),
    parameters: parameters.optional(),
    inputs: z
      .array(
        z.object({
          name: z.string().min(1),
          shape: z.array(z.number().int().min(0)),
          datatype: z.string().min(1),
          parameters: parameters.optional(),
          data: z.unknown().optional(),
        }),
      )
      .min(1, 'must name at least one input'),
    outputs: z.array(z.object({ name: z.string().min(1), parameters: parameters.optional() })).optional(),
  })
  .openapi('InferRequest');
export type InferRequest = z.infer<typeof InferRequestSchema>;

export const HEADER_LENGTH = 'Inference-Header-Content-Length';

/** Splits the body into the JSON request and the binary section that follows it (empty without the extension). */
export function parseBody(
  body: Uint8Array,
  headerLength: string | undefined,
): { request: InferRequest; binary: Uint8Array } {
  let jsonBytes = body;
  let binary: Uint8Array = new Uint8Array(0);
  if (headerLength !== undefined) {
    const n = Number(headerLength);
    if (!/^\d+$/.test(headerLength) || n > body.length)
      throw new InferenceError(
        400,
        `${HEADER_LENGTH} must be a byte count within the body (got ${JSON.stringify(headerLength)}, body is ${body.length} bytes)`,
      );
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(jsonBytes.buffer, jsonBytes.byteOffset, jsonBytes.length).toString('utf8'));
  } catch (err) {
    throw new InferenceError(
      400,
      `request JSON is malformed (${(err as Error).message})${headerLength === undefined ? `; binary tensors need the ${HEADER_LENGTH} header` : ''}`,
    );
  }
  const parsed = InferRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InferenceError(400, `${fieldPath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`);
  }
  return { request: parsed.data, binary };
}

/** Nested JSON arrays to one list, iteratively: a deeply nested body must be a 400, not a stack overflow. */
function flatten(data: unknown, out: unknown[]): void {
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) for (let i = item.length - 1; i >= 0; i--) stack.push(item[i]);
    else out.push(item);
  }
}

const KIND = {
  int64: 'an integer',
  int32: 'a 32-bit integer',
  float32: 'a finite number',
  float64: 'a finite number',
  bool: 'true or false',
  string: 'a string',
} as const;

function fromJson(name: string, dtype: TensorDtype, data: unknown, size: number, shape: string): TensorData {
  const values: unknown[] = [];
  flatten(data, values);
  if (values.length !== size)
    throw new InferenceError(
      400,
      `input "${name}": shape [${shape}] needs ${size} values, data holds ${values.length}`,
    );
  const out = allocate(dtype, size);
  for (let i = 0; i < size; i++) {
    const v = values[i];
    const ok =
      dtype === 'string'
        ? typeof v === 'string'
        : dtype === 'bool'
          ? typeof v === 'boolean'
          : typeof v === 'number' &&
            Number.isFinite(v) &&
            (dtype === 'int64' ? Number.isSafeInteger(v) : dtype !== 'int32' || (v | 0) === v);
    if (!ok)
      throw new InferenceError(
        400,
        `input "${name}": data[${i}] must be ${KIND[dtype]} for ${DATATYPES[dtype]} (got ${JSON.stringify(v) ?? 'nothing'})`,
      );
    if (Array.isArray(out)) out[i] = v as string;
    else if (out instanceof BigInt64Array) out[i] = BigInt(v as number);
    else out[i] = typeof v === 'boolean' ? Number(v) : (v as number);
  }
  return out;
}

/** Reads `size` elements of `dtype` from the binary section at `offset`; returns them and the bytes used. */
function fromBinary(
  name: string,
  dtype: TensorDtype,
  binary: Uint8Array,
  at: { offset: number; size: number; declared: number; shape: string },
): TensorData {
  const { offset, size, declared, shape } = at;
  const want = size * BYTES_PER[dtype];
  if (dtype !== 'string' && declared !== want)
    throw new InferenceError(
      400,
      `input "${name}": binary_data_size is ${declared} but shape [${shape}] of ${DATATYPES[dtype]} needs ${want} bytes`,
    );
  if (offset + declared > binary.length)
    throw new InferenceError(
      400,
      `input "${name}": binary data ends at byte ${binary.length} of the binary section, ${offset + declared} needed`,
    );
  const bytes = binary.subarray(offset, offset + declared);
  if (dtype === 'string') {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at < bytes.length) {
      if (at + 4 > bytes.length)
        throw new InferenceError(400, `input "${name}": a BYTES element is cut short`);
      const len = view.getUint32(at, true);
      if (at + 4 + len > bytes.length)
        throw new InferenceError(400, `input "${name}": a BYTES element is cut short`);
      out.push(Buffer.from(bytes.buffer, bytes.byteOffset + at + 4, len).toString('utf8'));
      at += 4 + len;
    }
    if (out.length !== size)
      throw new InferenceError(
        400,
        `input "${name}": binary_data_size holds ${out.length} BYTES elements, shape needs ${size}`,
      );
    return out;
  }
  const copy = new Uint8Array(bytes.length); // aligned copy: the body offset may not be a multiple of 8
  copy.set(bytes);
  switch (dtype) {
    case 'int64':
      return new BigInt64Array(copy.buffer);
    case 'int32':
      return new Int32Array(copy.buffer);
    case 'float32':
      return new Float32Array(copy.buffer);
    case 'float64':
      return new Float64Array(copy.buffer);
    case 'bool':
      return copy;
  }
}

const widthOf = (spec: InputSpec) => (spec.shape.length === 2 ? (spec.shape[1] ?? 1) : 1);
const describe = (spec: InputSpec) =>
  `${spec.name} (${DATATYPES[spec.dtype]} [${spec.shape.length === 1 ? '-1' : `-1, ${widthOf(spec)}`}])`;

/** Checks the request's inputs against the card and builds one typed column per model input. */
export function toColumns(
  inputs: readonly InputSpec[],
  ref: string,
  request: InferRequest,
  binary: Uint8Array,
  maxRows: number,
): TensorRows {
  const expected = inputs.map(describe).join(', ');
  const seen = new Set<string>();
  const columns = new Map<string, TensorData>();
  let rows = -1;
  let firstName = '';
  let offset = 0;
  for (const input of request.inputs) {
    const spec = inputs.find((i) => i.name === input.name);
    if (!spec) throw new InferenceError(400, `unexpected input "${input.name}"; ${ref} expects ${expected}`);
    if (seen.has(input.name)) throw new InferenceError(400, `input "${input.name}" is given twice`);
    seen.add(input.name);
    const datatype = DATATYPES[spec.dtype];
    if (input.datatype !== datatype)
      throw new InferenceError(
        400,
        `input "${input.name}": datatype ${input.datatype} does not match the model's ${datatype}`,
      );
    const width = widthOf(spec);
    const flat = spec.shape.length === 1;
    const [n, w] = input.shape;
    const fits = flat ? input.shape.length === 1 : input.shape.length === 2 && w === width;
    if (!fits || n === undefined || n < 1)
      throw new InferenceError(
        400,
        flat
          ? `input "${input.name}": shape [${input.shape.join(', ')}] does not match the model's [-1] (use [N], N >= 1)`
          : `input "${input.name}": shape [${input.shape.join(', ')}] does not match the model's [-1, ${width}] (use [N, ${width}], N >= 1)`,
      );
    if (n > maxRows)
      throw new InferenceError(413, `input "${input.name}": ${n} rows; at most ${maxRows} per request`);
    if (rows === -1) {
      rows = n;
      firstName = input.name;
    } else if (n !== rows)
      throw new InferenceError(400, `input "${input.name}" has ${n} rows but "${firstName}" has ${rows}`);
    const size = input.parameters?.binary_data_size;
    if (size !== undefined) {
      if (input.data !== undefined)
        throw new InferenceError(
          400,
          `input "${input.name}": give either data or parameters.binary_data_size, not both`,
        );
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
        throw new InferenceError(
          400,
          `input "${input.name}": binary_data_size must be a byte count (got ${JSON.stringify(size)})`,
        );
      columns.set(
        input.name,
        fromBinary(input.name, spec.dtype, binary, {
          offset,
          size: n * width,
          declared: size,
          shape: `${n}, ${width}`,
        }),
      );
      offset += size;
    } else {
      if (input.data === undefined)
        throw new InferenceError(
          400,
          `input "${input.name}" has no data (give "data" or parameters.binary_data_size)`,
        );
      columns.set(input.name, fromJson(input.name, spec.dtype, input.data, n * width, `${n}, ${width}`));
    }
  }
  const missing = inputs.filter((i) => !seen.has(i.name)).map((i) => `"${i.name}"`);
  if (missing.length > 0)
    throw new InferenceError(400, `missing input ${missing.join(', ')}; ${ref} expects ${expected}`);
  if (offset !== binary.length)
    throw new InferenceError(
      400,
      `the binary section is ${binary.length} bytes but the inputs declare ${offset}`,
    );
  return { rows, columns };
}

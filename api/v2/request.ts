/**
 * Open Inference Protocol (V2) infer requests: the JSON header (with or without the binary tensor data extension)
 * split from the body, parsed with zod, and every input checked against the model card (names, datatypes, shapes,
 * value counts, byte sizes) before it becomes typed columns. Every problem is an InferenceError naming the input.
 */
import { z } from '@hono/zod-openapi';
import type { ModelCard } from '../../scoring/model-card.js';
import type { FeatureArray } from '../../scoring/features.js';
import { fieldPath } from '../env.js';
import { InferenceError } from '../errors.js';
import type { TensorRows } from '../online.js';

export const DATATYPES = { int64: 'INT64', float32: 'FP32', float64: 'FP64' } as const;
const BYTES_PER = { INT64: 8, FP32: 4, FP64: 8 } as const;

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

function flatten(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const item of data) flatten(item, out);
  else out.push(data);
}

function fromJson(
  name: string,
  datatype: 'INT64' | 'FP32' | 'FP64',
  data: unknown,
  rows: number,
): FeatureArray {
  const values: unknown[] = [];
  flatten(data, values);
  if (values.length !== rows)
    throw new InferenceError(
      400,
      `input "${name}": shape [${rows}, 1] needs ${rows} values, data holds ${values.length}`,
    );
  const isInt = datatype === 'INT64';
  const out = isInt ? new BigInt64Array(rows) : new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || (isInt && !Number.isSafeInteger(v)))
      throw new InferenceError(
        400,
        `input "${name}": data[${i}] must be ${isInt ? 'an integer' : 'a finite number'} for ${datatype} (got ${JSON.stringify(v) ?? 'nothing'})`,
      );
    if (out instanceof BigInt64Array) out[i] = BigInt(v);
    else out[i] = v;
  }
  return out;
}

function fromBinary(datatype: 'INT64' | 'FP32' | 'FP64', bytes: Uint8Array): FeatureArray {
  const copy = new Uint8Array(bytes.length); // aligned copy: the body offset may not be a multiple of 8
  copy.set(bytes);
  if (datatype === 'INT64') return new BigInt64Array(copy.buffer);
  if (datatype === 'FP32') return new Float32Array(copy.buffer);
  return Float32Array.from(new Float64Array(copy.buffer));
}

/** Checks the request's inputs against the card and builds one typed column per model input. */
export function toColumns(
  card: ModelCard,
  ref: string,
  request: InferRequest,
  binary: Uint8Array,
  maxRows: number,
): TensorRows {
  const expected = card.inputs.map((i) => `${i.name} (${DATATYPES[i.dtype]} [-1, 1])`).join(', ');
  const seen = new Set<string>();
  const columns = new Map<string, FeatureArray>();
  let rows = -1;
  let firstName = '';
  let offset = 0;
  for (const input of request.inputs) {
    const spec = card.inputs.find((i) => i.name === input.name);
    if (!spec) throw new InferenceError(400, `unexpected input "${input.name}"; ${ref} expects ${expected}`);
    if (seen.has(input.name)) throw new InferenceError(400, `input "${input.name}" is given twice`);
    seen.add(input.name);
    const datatype = DATATYPES[spec.dtype];
    if (input.datatype !== datatype)
      throw new InferenceError(
        400,
        `input "${input.name}": datatype ${input.datatype} does not match the model's ${datatype}`,
      );
    const [n, width] = input.shape;
    if (input.shape.length !== 2 || width !== 1 || n === undefined || n < 1)
      throw new InferenceError(
        400,
        `input "${input.name}": shape [${input.shape.join(', ')}] does not match the model's [-1, 1] (use [N, 1], N >= 1)`,
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
      const want = n * BYTES_PER[datatype];
      if (size !== want)
        throw new InferenceError(
          400,
          `input "${input.name}": binary_data_size is ${JSON.stringify(size)} but shape [${n}, 1] of ${datatype} needs ${want} bytes`,
        );
      if (offset + want > binary.length)
        throw new InferenceError(
          400,
          `input "${input.name}": binary data ends at byte ${binary.length} of the binary section, ${offset + want} needed`,
        );
      columns.set(input.name, fromBinary(datatype, binary.subarray(offset, offset + want)));
      offset += want;
    } else {
      if (input.data === undefined)
        throw new InferenceError(
          400,
          `input "${input.name}" has no data (give "data" or parameters.binary_data_size)`,
        );
      columns.set(input.name, fromJson(input.name, datatype, input.data, n));
    }
  }
  const missing = card.inputs.filter((i) => !seen.has(i.name)).map((i) => `"${i.name}"`);
  if (missing.length > 0)
    throw new InferenceError(400, `missing input ${missing.join(', ')}; ${ref} expects ${expected}`);
  if (offset !== binary.length)
    throw new InferenceError(
      400,
      `the binary section is ${binary.length} bytes but the inputs declare ${offset}`,
    );
  return { rows, columns };
}

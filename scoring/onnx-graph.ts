/**
 * Just enough of the ONNX protobuf (onnx.proto3: ModelProto, GraphProto, NodeProto, ValueInfoProto) to read a
 * graph's outputs and to take out a trailing ZipMap. skl2onnx's default classifier export ends in ZipMap, whose
 * seq(map) output onnxruntime-node cannot return; replacing it by an Identity of its input serves the probability
 * tensor under the same output name, and the ZipMap's class labels become the class names.
 * Field numbers: https://github.com/onnx/onnx/blob/main/onnx/onnx.proto
 */

interface Field {
  no: number;
  wire: number;
  /** The whole field (tag included), for re-encoding unchanged. */
  raw: Uint8Array;
  /** Length-delimited payload, or undefined. */
  bytes?: Uint8Array;
  varint?: bigint;
}

function readVarint(buf: Uint8Array, at: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i] ?? 0;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, i + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

function parse(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const start = at;
    const [tag, next] = readVarint(buf, at);
    at = next;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, after] = readVarint(buf, at);
      at = after;
      fields.push({ no, wire, raw: buf.subarray(start, at), varint: v });
    } else if (wire === 2) {
      const [len, after] = readVarint(buf, at);
      const end = after + Number(len);
      if (end > buf.length) throw new Error('truncated field');
      fields.push({ no, wire, raw: buf.subarray(start, end), bytes: buf.subarray(after, end) });
      at = end;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
      fields.push({ no, wire, raw: buf.subarray(start, at) });
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}

function varint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Uint8Array.from(out);
}

const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const lengthDelimited = (no: number, payload: Uint8Array) =>
  concat([varint((no << 3) | 2), varint(payload.length), payload]);
const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const strings = (fields: Field[], no: number) => fields.filter((f) => f.no === no).map((f) => text(f.bytes));
const one = (fields: Field[], no: number) => fields.find((f) => f.no === no);

/** Graph field numbers. */
const GRAPH = { node: 1, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, ints: 8, strings: 9 } as const;
const MODEL_GRAPH = 7;
const FLOAT = 1;

export interface ZipMapInfo {
  /** The graph output the ZipMap produced (served now as a float tensor). */
  output: string;
  /** The tensor it read: the probabilities, [N, C]. */
  input: string;
  classes: (string | number)[];
}

export interface StrippedModel {
  bytes: Uint8Array;
  zipMaps: ZipMapInfo[];
}

function readInts(attr: Field[]): number[] {
  const out: number[] = [];
  for (const f of attr.filter((a) => a.no === ATTR.ints)) {
    if (f.varint !== undefined) out.push(Number(BigInt.asIntN(64, f.varint)));
    else if (f.bytes) {
      let at = 0;
      while (at < f.bytes.length) {
        const [v, next] = readVarint(f.bytes, at);
        out.push(Number(BigInt.asIntN(64, v)));
        at = next;
      }
    }
  }
  return out;
}

function zipMapOf(node: Field[]): ZipMapInfo | undefined {
  if (text(one(node, NODE.opType)?.bytes) !== 'ZipMap') return undefined;
  let classes: (string | number)[] = [];
  for (const a of node.filter((f) => f.no === NODE.attribute)) {
    const attr = parse(a.bytes ?? new Uint8Array());
    const name = text(one(attr, ATTR.name)?.bytes);
    if (name === 'classlabels_strings') classes = strings(attr, ATTR.strings);
    if (name === 'classlabels_int64s') classes = readInts(attr);
  }
  return { output: strings(node, NODE.output)[0] ?? '', input: strings(node, NODE.input)[0] ?? '', classes };
}

/** A float tensor ValueInfoProto `[N, classes]`. */
function floatOutput(name: string, classes: number): Uint8Array {
  const dims = concat([
    lengthDelimited(1, lengthDelimited(2, Buffer.from('N'))),
    lengthDelimited(1, concat([varint(1 << 3), varint(classes)])),
  ]);
  const tensor = concat([varint(1 << 3), varint(FLOAT), lengthDelimited(2, dims)]);
  return concat([lengthDelimited(1, Buffer.from(name)), lengthDelimited(2, lengthDelimited(1, tensor))]);
}

function identity(zip: ZipMapInfo): Uint8Array {
  return concat([
    lengthDelimited(NODE.input, Buffer.from(zip.input)),
    lengthDelimited(NODE.output, Buffer.from(zip.output)),
    lengthDelimited(NODE.name, Buffer.from(`${zip.output}_unzipped`)),
    lengthDelimited(NODE.opType, Buffer.from('Identity')),
  ]);
}

/** Replaces every ZipMap that produces a graph output by an Identity of its probability tensor. */
export function stripZipMap(model: Uint8Array): StrippedModel {
  const top = parse(model);
  const graphField = one(top, MODEL_GRAPH);
  if (!graphField?.bytes) throw new Error('model.onnx has no graph');
  const graph = parse(graphField.bytes);
  const outputs = new Set(
    graph
      .filter((f) => f.no === GRAPH.output)
      .map((f) => text(one(parse(f.bytes ?? new Uint8Array()), 1)?.bytes)),
  );
  const zipMaps: ZipMapInfo[] = [];
  const rebuilt = graph.map((f) => {
    if (f.no !== GRAPH.node) return f.raw;
    const zip = zipMapOf(parse(f.bytes ?? new Uint8Array()));
    if (!zip || !outputs.has(zip.output)) return f.raw;
    zipMaps.push(zip);
    return lengthDelimited(GRAPH.node, identity(zip));
  });
  if (zipMaps.length === 0) return { bytes: model, zipMaps };
  const byOutput = new Map(zipMaps.map((z) => [z.output, z]));
  const graphBytes = concat(
    graph.map((f, i) => {
      if (f.no !== GRAPH.output) return rebuilt[i] ?? f.raw;
      const name = text(one(parse(f.bytes ?? new Uint8Array()), 1)?.bytes);
      const zip = byOutput.get(name);
      return zip ? lengthDelimited(GRAPH.output, floatOutput(name, zip.classes.length)) : f.raw;
    }),
  );
  const bytes = concat(
    top.map((f) => (f.no === MODEL_GRAPH ? lengthDelimited(MODEL_GRAPH, graphBytes) : f.raw)),
  );
  return { bytes, zipMaps };
}

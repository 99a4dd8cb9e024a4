/**
 * V2 infer outputs: one served output as JSON data, or as a chunk of the binary tensor data extension (numbers
 * little-endian as typed arrays hold them on the platforms Node runs on, BOOL one byte each, BYTES each element a
 * 4-byte little-endian length then its UTF-8 bytes).
 */
import type { OutputColumn } from '../../contracts/scoring.js';
import { DATATYPES } from './request.js';

/** The V2 shape of `rows` rows of a card output: `[rows]` for a `[-1]` output, else `[rows, width]`. */
export function shapeOf(cardShape: readonly number[], rows: number, width: number): number[] {
  return cardShape.length === 1 ? [rows] : [rows, width];
}

export function jsonData(column: OutputColumn): (number | string | boolean)[] {
  const { data } = column;
  if (Array.isArray(data)) return data;
  if (data instanceof BigInt64Array) return Array.from(data, Number);
  if (column.dtype === 'bool') return Array.from(data, (v) => v === 1);
  return Array.from(data);
}

export function binaryData(column: OutputColumn): Uint8Array {
  const { data } = column;
  if (!Array.isArray(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const parts = data.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

export const datatypeOf = (column: OutputColumn) => DATATYPES[column.dtype];

/**
 * A deliberately bad challenger for rollout tests: a real ONNX graph (encoded here, run by ONNX Runtime) with the
 * ride cards' inputs that predicts the same duration for every ride. Written beside copies of the repository's ride
 * models into a temporary model folder.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_MODEL_DIR } from '../helpers.js';

const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};
const tag = (no: number, wire: number) => varint((no << 3) | wire);
const bytes = (no: number, payload: number[]) => [...tag(no, 2), ...varint(payload.length), ...payload];
const text = (no: number, s: string) => bytes(no, [...Buffer.from(s, 'utf8')]);
const int = (no: number, n: number) => [...tag(no, 0), ...varint(n)];

const FLOAT = 1;
const INT64 = 7;
const valueInfo = (name: string, elem: number) =>
  bytes(11, [
    ...text(1, name),
    ...bytes(
      2,
      bytes(1, [...int(1, elem), ...bytes(2, [...bytes(1, text(2, 'N')), ...bytes(1, int(1, 1))])]),
    ),
  ]);
const scalar = (name: string, value: number) => {
  const raw = Buffer.alloc(4);
  raw.writeFloatLE(value);
  return bytes(5, [...int(2, FLOAT), ...text(8, name), ...bytes(9, [...raw])]);
};
const node = (op: string, inputs: string[], output: string) =>
  bytes(1, [
    ...inputs.flatMap((i) => text(1, i)),
    ...text(2, output),
    ...text(3, `${op}_${output}`),
    ...text(4, op),
  ]);

/** duration = trip_distance * 0 + `minutes`, for [N, 1] inputs PULocationID, DOLocationID (int64), trip_distance. */
export function constantRideGraph(minutes: number): Buffer {
  const outputInfo = valueInfo('duration', FLOAT).slice(); // field 11 -> rewrite as 12 below
  outputInfo[0] = (12 << 3) | 2;
  const graph = [
    ...node('Mul', ['trip_distance', 'zero'], 'nothing'),
    ...node('Add', ['nothing', 'minutes'], 'duration'),
    ...text(2, 'constant'),
    ...scalar('zero', 0),
    ...scalar('minutes', minutes),
    ...valueInfo('PULocationID', INT64),
    ...valueInfo('DOLocationID', INT64),
    ...valueInfo('trip_distance', FLOAT),
    ...outputInfo,
  ];
  return Buffer.from([
    ...int(1, 8),
    ...bytes(8, [...text(1, ''), ...int(2, 13)]),
    ...text(2, 'test'),
    ...bytes(7, graph),
  ]);
}

/** A model folder with ride-duration 1 and 2 (copies) and 3, which predicts `minutes` for every ride. */
export async function modelsWithConstant(minutes = 30): Promise<{ dir: string; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'models-'));
  await cp(TEST_MODEL_DIR, dir, { recursive: true });
  const target = path.join(dir, 'ride-duration', '3');
  await mkdir(target, { recursive: true });
  const card = JSON.parse(
    await readFile(path.join(TEST_MODEL_DIR, 'ride-duration', '1', 'model.json'), 'utf8'),
  ) as Record<string, unknown>;
  for (const key of ['golden', 'parity', 'metrics', 'model_bytes']) delete card[key];
  const graph = constantRideGraph(minutes);
  const sha256 = createHash('sha256').update(graph).digest('hex');
  const description = `predicts ${minutes} minutes for every ride`;
  await writeFile(
    path.join(target, 'model.json'),
    JSON.stringify({ ...card, version: '3', kind: 'constant', description, sha256 }),
  );
  await writeFile(path.join(target, 'model.onnx'), graph);
  return { dir, close: () => rm(dir, { recursive: true, force: true }) };
}

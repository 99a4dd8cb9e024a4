/**
 * Deliberately bad challengers for rollout tests, real ONNX graphs (encoded here, run by ONNX Runtime) with the ride
 * cards' inputs: one predicts the same duration for every ride; the other does too, but only after a chain of
 * large matrix products that depends on its input (so ONNX Runtime cannot fold it away at load): a challenger that
 * is slow to score. Written beside copies of the repository's ride models into a temporary model folder.
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

/** A field holding a large payload, as a Buffer (the number arrays above are for small fields). */
const bigField = (no: number, payload: Buffer) =>
  Buffer.concat([Buffer.from([...tag(no, 2), ...varint(payload.length)]), payload]);

/** The graph's inputs (the ride card's three fields, [N, 1]) and its output `duration`. */
function rideIo(): number[] {
  const outputInfo = valueInfo('duration', FLOAT).slice(); // an input's field 11, rewritten as 12 (output)
  outputInfo[0] = (12 << 3) | 2;
  return [
    ...valueInfo('PULocationID', INT64),
    ...valueInfo('DOLocationID', INT64),
    ...valueInfo('trip_distance', FLOAT),
    ...outputInfo,
  ];
}

/** A model of opset 13 around an encoded graph. */
const modelOf = (graph: Buffer) =>
  Buffer.concat([
    Buffer.from([...int(1, 8), ...bytes(8, [...text(1, ''), ...int(2, 13)]), ...text(2, 'test')]),
    bigField(7, graph),
  ]);

/** duration = trip_distance * 0 + `minutes`, for [N, 1] inputs PULocationID, DOLocationID (int64), trip_distance. */
export function constantRideGraph(minutes: number): Buffer {
  const graph = [
    ...node('Mul', ['trip_distance', 'zero'], 'nothing'),
    ...node('Add', ['nothing', 'minutes'], 'duration'),
    ...text(2, 'constant'),
    ...scalar('zero', 0),
    ...scalar('minutes', minutes),
    ...rideIo(),
  ];
  return modelOf(Buffer.from(graph));
}

/**
 * duration = `minutes` for every ride, after `steps` products of a `size` x `size` matrix that depend on the
 * input (its entries 1/size, so every product is the same matrix): one run costs about 2 * size^3 * steps flops.
 */
export function slowRideGraph(minutes: number, size: number, steps: number): Buffer {
  const matrix = Buffer.alloc(size * size * 4);
  for (let i = 0; i < size * size; i++) matrix.writeFloatLE(1 / size, i * 4);
  const weights = bigField(
    5,
    Buffer.concat([
      Buffer.from([...int(1, size), ...int(1, size), ...int(2, FLOAT), ...text(8, 'w')]),
      bigField(9, matrix),
    ]),
  );
  const products = Array.from({ length: steps }, (_, i) =>
    node('MatMul', [i === 0 ? 'w_in' : `p${i - 1}`, 'w'], `p${i}`),
  ).flat();
  const graph = Buffer.concat([
    Buffer.from([
      // w_in = w * (sum(trip_distance) * 0 + 1): the same matrix, known only once a ride is given.
      ...node('ReduceSum', ['trip_distance'], 'total'),
      ...node('Mul', ['total', 'zero'], 'nothing_total'),
      ...node('Add', ['nothing_total', 'one'], 'unit'),
      ...node('Mul', ['w', 'unit'], 'w_in'),
      ...products,
      ...node('ReduceMean', [`p${steps - 1}`], 'mean'),
      ...node('Mul', ['mean', 'zero'], 'nothing_mean'),
      ...node('Mul', ['trip_distance', 'zero'], 'nothing'),
      ...node('Add', ['nothing', 'nothing_mean'], 'still_nothing'),
      ...node('Add', ['still_nothing', 'minutes'], 'duration'),
      ...text(2, 'slow'),
      ...scalar('zero', 0),
      ...scalar('one', 1),
      ...scalar('minutes', minutes),
    ]),
    weights,
    Buffer.from(rideIo()),
  ]);
  return modelOf(graph);
}

/** The ride card of version 1 without its golden rows, parity and metrics (they describe that model only). */
async function bareRideCard(): Promise<Record<string, unknown>> {
  const card = JSON.parse(
    await readFile(path.join(TEST_MODEL_DIR, 'ride-duration', '1', 'model.json'), 'utf8'),
  ) as Record<string, unknown>;
  for (const key of ['golden', 'parity', 'metrics', 'model_bytes']) delete card[key];
  return card;
}

async function writeVersion(dir: string, card: Record<string, unknown>, graph: Buffer): Promise<void> {
  const target = path.join(dir, 'ride-duration', String(card.version));
  await mkdir(target, { recursive: true });
  const sha256 = createHash('sha256').update(graph).digest('hex');
  await writeFile(path.join(target, 'model.json'), JSON.stringify({ ...card, sha256 }));
  await writeFile(path.join(target, 'model.onnx'), graph);
}

/**
 * A model folder with ride-duration 1 and 2 (copies) and 3, which predicts `minutes` for every ride; with `slow`,
 * also 4, which predicts the same after `slow.steps` products of a `slow.size` square matrix per run.
 */
export async function modelsWithConstant(
  minutes = 30,
  options: { slow?: { size: number; steps: number } } = {},
): Promise<{ dir: string; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'models-'));
  await cp(TEST_MODEL_DIR, dir, { recursive: true });
  const card = await bareRideCard();
  const description = `predicts ${minutes} minutes for every ride`;
  await writeVersion(
    dir,
    { ...card, version: '3', kind: 'constant', description },
    constantRideGraph(minutes),
  );
  const { slow } = options;
  if (slow)
    await writeVersion(
      dir,
      { ...card, version: '4', kind: 'slow', description: `${description}, slowly` },
      slowRideGraph(minutes, slow.size, slow.steps),
    );
  return { dir, close: () => rm(dir, { recursive: true, force: true }) };
}

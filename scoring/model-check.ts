/**
 * A model folder checked the way the server loads it, but collecting every problem instead of stopping at the
 * first (`npm run models -- check <dir>`), and a draft card written from a graph (`npm run models -- init`).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { checkCardAgainstGraph, type GraphTensor } from './graph-check.js';
import { cardProblems, modelCardSchema, type FieldType } from './model-card.js';
import { stripZipMap, type ZipMapInfo } from './onnx-graph.js';

export interface GraphInfo {
  inputs: GraphTensor[];
  outputs: GraphTensor[];
  zipMaps: ZipMapInfo[];
  sha256: string;
}

/** Reads a graph as the server will serve it (ZipMap taken out); throws with a reason when it cannot load. */
export async function readGraph(onnxFile: string): Promise<GraphInfo> {
  const bytes = await readFile(onnxFile);
  const stripped = stripZipMap(bytes);
  const session = await ort.InferenceSession.create(stripped.bytes);
  const tensors = (list: readonly ort.InferenceSession.ValueMetadata[]): GraphTensor[] =>
    list.map((m) =>
      m.isTensor
        ? { name: m.name, isTensor: true, type: m.type, shape: m.shape }
        : { name: m.name, isTensor: false, type: 'non-tensor', shape: [] },
    );
  try {
    return {
      inputs: tensors(session.inputMetadata),
      outputs: tensors(session.outputMetadata),
      zipMaps: stripped.zipMaps,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  } finally {
    await session.release();
  }
}

/** Every problem of `<dir>/model.json` against `<dir>/model.onnx`, each naming the card field; empty when it loads. */
export async function checkModelFolder(dir: string): Promise<string[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
  } catch (err) {
    return [`model.json: ${(err as Error).message}`];
  }
  const problems = cardProblems(json);
  if (problems.length > 0) return problems;
  const card = modelCardSchema.parse(json);
  const folder = path.basename(path.resolve(dir));
  const parent = path.basename(path.dirname(path.resolve(dir)));
  if (card.version !== folder)
    problems.push(`version: "${card.version}" does not match its folder "${folder}"`);
  if (card.name !== parent) problems.push(`name: "${card.name}" does not match its folder "${parent}"`);
  let graph: GraphInfo;
  try {
    graph = await readGraph(path.join(dir, 'model.onnx'));
  } catch (err) {
    return [...problems, `model.onnx: onnxruntime cannot load it (${(err as Error).message})`];
  }
  if (graph.sha256 !== card.sha256)
    problems.push(
      `sha256: the card says ${card.sha256.slice(0, 12)}…, model.onnx is ${graph.sha256.slice(0, 12)}…`,
    );
  const checked = checkCardAgainstGraph(card, graph);
  if (!checked.ok) problems.push(...checked.problems);
  return problems;
}

const FIELD_OF_DTYPE: Record<string, FieldType> = {
  int64: 'integer',
  int32: 'integer',
  float32: 'number',
  float64: 'number',
  string: 'string',
  bool: 'boolean',
};

const dims = (shape: readonly (number | string)[]) =>
  shape.map((d, i) => (i === 0 || typeof d !== 'number' ? -1 : d));

/** A draft card: one signature field per graph input column, casts as rules, the task guessed from the outputs. */
export function draftCard(graph: GraphInfo, name: string, version: string): Record<string, unknown> {
  const fields: Record<string, unknown>[] = [];
  const inputs = graph.inputs.map((g) => {
    const shape = dims(g.shape);
    const width = shape.length === 2 && (shape[1] ?? 1) > 1 ? (shape[1] ?? 1) : 1;
    const names = width === 1 ? [g.name] : Array.from({ length: width }, (_, j) => `${g.name}_${j}`);
    for (const n of names)
      fields.push({ name: n.replace(/[^A-Za-z0-9_]/g, '_'), type: FIELD_OF_DTYPE[g.type] ?? 'number' });
    const from = names.map((n) => n.replace(/[^A-Za-z0-9_]/g, '_'));
    return {
      name: g.name,
      dtype: g.type,
      shape: shape.length === 2 ? [-1, width] : [-1],
      from: width === 1 ? from[0] : from,
    };
  });
  const outputs = graph.outputs
    .filter((g) => g.isTensor)
    .map((g) => ({ name: g.name, dtype: g.type, shape: dims(g.shape).length === 2 ? dims(g.shape) : [-1] }));
  const zip = graph.zipMaps[0];
  const label = outputs.find((o) => o.name !== zip?.output && (o.dtype === 'string' || o.dtype === 'int64'));
  const task = zip && label ? 'classification' : outputs.length === 1 ? 'regression' : 'outputs';
  const card: Record<string, unknown> = {
    name,
    version,
    task,
    description:
      'DRAFT written by npm run models -- init: review every field (types, ranges, nullability, rules)',
    sha256: graph.sha256,
    signature: { fields },
    inputs,
    outputs,
  };
  if (task === 'classification' && zip && label)
    card.classification = { label: label.name, probabilities: zip.output, classes: zip.classes };
  if (task === 'regression' && outputs[0]) card.regression = { output: outputs[0].name };
  return card;
}

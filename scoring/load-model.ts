/**
 * Loads and checks one model version folder: the card against its schema, model.onnx against the card's sha256,
 * a trailing ZipMap taken out, then the card against the graph (inputs, feature rules, outputs, task). Any
 * mismatch is a ModelLoadError that names the card field and the graph's side.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelLoadError } from './errors.js';
import type { FeatureRule } from './features.js';
import { checkCardAgainstGraph, type GraphTensor, type ServedOutput, type TaskView } from './graph-check.js';
import { parseModelCard, type ModelCard } from './model-card.js';
import { stripZipMap } from './onnx-graph.js';
import { compileSignature, type CompiledSignature } from './signature.js';

/** Rows per ONNX run when the card sets no `serving.max_batch_rows` (see docs/models.md for the measurements). */
export const DEFAULT_MAX_BATCH_ROWS = 1024;

export interface LoadedModel {
  name: string;
  version: string;
  /** `name@version` */
  ref: string;
  dir: string;
  card: ModelCard;
  signature: CompiledSignature;
  /** One rule per graph input, in card order. */
  rules: FeatureRule[];
  outputs: ServedOutput[];
  task: TaskView;
  maxBatchRows: number;
  session: ort.InferenceSession;
}

export interface LoadOptions {
  intraOpThreads?: number;
  /** Overrides the card / default rows per ONNX run (benchmarks). */
  maxBatchRows?: number;
}

async function readBytes(file: string, fail: (reason: string) => ModelLoadError): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw fail(`cannot read ${path.basename(file)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Reads and parses a folder's model.json; throws ModelLoadError naming the bad fields. */
export async function readCard(dir: string, ref: string): Promise<ModelCard> {
  const fail = (reason: string, cause?: unknown) => new ModelLoadError(ref, reason, { cause });
  const text = await readBytes(path.join(dir, 'model.json'), fail);
  let json: unknown;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw fail(`model.json is not valid JSON (${(err as Error).message})`, err);
  }
  const parsed = parseModelCard(json);
  if (!parsed.ok) throw fail(parsed.reason);
  return parsed.card;
}

const tensorsOf = (metadata: readonly ort.InferenceSession.ValueMetadata[]): GraphTensor[] =>
  metadata.map((m) =>
    m.isTensor
      ? { name: m.name, isTensor: true, type: m.type, shape: m.shape }
      : { name: m.name, isTensor: false, type: 'non-tensor', shape: [] },
  );

export async function loadModel(
  dir: string,
  name: string,
  version: string,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const ref = `${name}@${version}`;
  const fail = (reason: string, cause?: unknown) => new ModelLoadError(ref, reason, { cause });
  const card = await readCard(dir, ref);
  if (card.name !== name) throw fail(`card name "${card.name}" does not match its folder "${name}"`);
  if (card.version !== version)
    throw fail(`card version "${card.version}" does not match its folder "${version}"`);

  const bytes = await readBytes(path.join(dir, 'model.onnx'), fail);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== card.sha256)
    throw fail(`sha256 mismatch (card ${card.sha256.slice(0, 12)}…, file ${sha.slice(0, 12)}…)`);

  let stripped: ReturnType<typeof stripZipMap>;
  try {
    stripped = stripZipMap(bytes);
  } catch (err) {
    throw fail(`model.onnx is not a readable ONNX model (${(err as Error).message})`, err);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(stripped.bytes, {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw fail(`onnxruntime cannot load model.onnx (${(err as Error).message})`, err);
  }
  try {
    const checked = checkCardAgainstGraph(card, {
      inputs: tensorsOf(session.inputMetadata),
      outputs: tensorsOf(session.outputMetadata),
      zipMaps: stripped.zipMaps,
    });
    if (!checked.ok) throw fail(checked.problems.join('; '));
    return {
      name,
      version,
      ref,
      dir,
      card,
      signature: compileSignature(card.signature.fields),
      rules: checked.rules,
      outputs: checked.outputs,
      task: checked.task,
      maxBatchRows: options.maxBatchRows ?? card.serving?.max_batch_rows ?? DEFAULT_MAX_BATCH_ROWS,
      session,
    };
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err instanceof Error && !(err instanceof ModelLoadError) ? fail(err.message, err) : err;
  }
}

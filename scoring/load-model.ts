/**
 * Loads and checks one model version folder: the card against its schema, model.onnx against the card's sha256,
 * and the ONNX graph's inputs/outputs (names and types) against the card. Any mismatch is a ModelLoadError.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelLoadError } from './errors.js';
import { FEATURE_DTYPES, isFeatureName, needsPickup, type FeatureName } from './features.js';
import { parseModelCard, type ModelCard } from './model-card.js';

/** Rows per ONNX run when the card sets no `serving.max_batch_rows` (see docs/models.md for the measurements). */
export const DEFAULT_MAX_BATCH_ROWS = 1024;

export interface LoadedModel {
  name: string;
  version: string;
  /** `name@version` */
  ref: string;
  dir: string;
  card: ModelCard;
  /** The card's inputs in order, each a known feature rule. */
  features: FeatureName[];
  output: string;
  needsPickup: boolean;
  maxBatchRows: number;
  session: ort.InferenceSession;
}

export interface LoadOptions {
  intraOpThreads?: number;
  /** Overrides the card / default rows per ONNX run (benchmarks). */
  maxBatchRows?: number;
}

async function readText(file: string, fail: (reason: string) => ModelLoadError): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw fail(`cannot read ${path.basename(file)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

export async function loadModel(
  dir: string,
  name: string,
  version: string,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const ref = `${name}@${version}`;
  const fail = (reason: string, cause?: unknown) => new ModelLoadError(ref, reason, { cause });
  const cardText = await readText(path.join(dir, 'model.json'), fail);
  let json: unknown;
  try {
    json = JSON.parse(cardText.toString('utf8'));
  } catch (err) {
    throw fail(`model.json is not valid JSON (${(err as Error).message})`, err);
  }
  const parsed = parseModelCard(json);
  if (!parsed.ok) throw fail(parsed.reason);
  const card = parsed.card;
  if (card.name !== name) throw fail(`card name "${card.name}" does not match its folder "${name}"`);
  if (card.version !== version)
    throw fail(`card version "${card.version}" does not match its folder "${version}"`);

  const bytes = await readText(path.join(dir, 'model.onnx'), fail);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== card.sha256)
    throw fail(`sha256 mismatch (card ${card.sha256.slice(0, 12)}…, file ${sha.slice(0, 12)}…)`);

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw fail(`onnxruntime cannot load model.onnx (${(err as Error).message})`, err);
  }
  try {
    const features = checkGraph(card, session);
    return {
      name,
      version,
      ref,
      dir,
      card,
      features,
      output: card.outputs[0]?.name ?? '',
      needsPickup: needsPickup(features),
      maxBatchRows: options.maxBatchRows ?? card.serving?.max_batch_rows ?? DEFAULT_MAX_BATCH_ROWS,
      session,
    };
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err instanceof Error && !(err instanceof ModelLoadError) ? fail(err.message, err) : err;
  }
}

function checkGraph(card: ModelCard, session: ort.InferenceSession): FeatureName[] {
  const ref = `${card.name}@${card.version}`;
  const fail = (reason: string) => new ModelLoadError(ref, reason);
  const graphInputs = session.inputNames;
  const graphTypes = new Map<string, string>();
  for (const m of [...session.inputMetadata, ...session.outputMetadata])
    if (m.isTensor) graphTypes.set(m.name, m.type);

  const features: FeatureName[] = [];
  for (const input of card.inputs) {
    if (!graphInputs.includes(input.name))
      throw fail(
        `card input "${input.name}" is not an input of the graph (graph inputs: ${graphInputs.join(', ')})`,
      );
    const graphType = graphTypes.get(input.name);
    if (graphType !== undefined && graphType !== input.dtype)
      throw fail(`card input "${input.name}" is ${input.dtype} but the graph expects ${graphType}`);
    if (!isFeatureName(input.name))
      throw fail(
        `card input "${input.name}" has no feature rule (known: ${Object.keys(FEATURE_DTYPES).join(', ')})`,
      );
    if (FEATURE_DTYPES[input.name] !== input.dtype)
      throw fail(
        `card input "${input.name}" is ${input.dtype} but its feature rule produces ${FEATURE_DTYPES[input.name]}`,
      );
    features.push(input.name);
  }
  const cardNames = card.inputs.map((i) => i.name);
  const missing = graphInputs.filter((g) => !cardNames.includes(g));
  if (missing.length > 0)
    throw fail(
      `graph input "${missing.join('", "')}" is not declared in the card (card inputs: ${cardNames.join(', ')})`,
    );
  const output = card.outputs[0];
  if (output && !session.outputNames.includes(output.name))
    throw fail(
      `card output "${output.name}" is not an output of the graph (graph outputs: ${session.outputNames.join(', ')})`,
    );
  const outputType = output && graphTypes.get(output.name);
  if (output && outputType !== undefined && outputType !== output.dtype)
    throw fail(`card output "${output.name}" is ${output.dtype} but the graph produces ${outputType}`);
  return features;
}

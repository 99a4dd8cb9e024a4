/**
 * The card held against its graph: every graph input declared with its dtype and a feature rule that the
 * signature can feed, every served output a tensor the graph returns, and the task's outputs of the right kind.
 * Pure: returns every problem at once (for `npm run models -- check`), each naming the card field and the graph side.
 */
import type { TensorDtype } from '../contracts/scoring.js';
import { compileRule, type FeatureRule } from './features.js';
import type { ModelCard, OutputSpec } from './model-card.js';
import type { ZipMapInfo } from './onnx-graph.js';

export interface GraphTensor {
  name: string;
  isTensor: boolean;
  /** onnxruntime's element type name (float32, int64, string, ...). */
  type: string;
  shape: readonly (number | string)[];
}

export interface GraphView {
  inputs: GraphTensor[];
  outputs: GraphTensor[];
  zipMaps: ZipMapInfo[];
}

export interface ServedOutput {
  name: string;
  dtype: TensorDtype;
  width: number;
}

export type TaskView =
  | { kind: 'regression'; output: string; name: string; unit?: string }
  | { kind: 'classification'; label: string; probabilities?: string; classes: (string | number)[] }
  | { kind: 'outputs' };

export type CheckResult =
  | { ok: true; rules: FeatureRule[]; outputs: ServedOutput[]; task: TaskView }
  | { ok: false; problems: string[] };

const ZIPMAP_HINT =
  'export it as a tensor (skl2onnx: options={id(model): {"zipmap": False}}), or end the graph in a ZipMap, which the server takes out';

/** Width of a `[-1]` / `[-1, n]` shape, or a reason. */
function widthOf(shape: readonly number[], what: string): number | string {
  if (shape.length === 1 && shape[0] === -1) return 1;
  if (shape.length === 2 && shape[0] === -1 && (shape[1] ?? 0) >= 1) return shape[1] ?? 1;
  return `${what}: shape [${shape.join(', ')}] is not supported (use [-1] or [-1, n]: rows first)`;
}

function checkInputs(card: ModelCard, graph: GraphView, problems: string[]): FeatureRule[] {
  const rules: FeatureRule[] = [];
  const graphNames = graph.inputs.map((g) => g.name);
  card.inputs.forEach((input, i) => {
    const where = `inputs[${i}] "${input.name}"`;
    const g = graph.inputs.find((t) => t.name === input.name);
    if (!g)
      return problems.push(`${where}: not an input of the graph (graph inputs: ${graphNames.join(', ')})`);
    if (!g.isTensor)
      return problems.push(`${where}: the graph input is not a tensor; the server feeds tensors only`);
    if (g.type !== input.dtype)
      problems.push(`${where}: dtype is ${input.dtype} but the graph expects ${g.type}`);
    const width = widthOf(input.shape, where);
    if (typeof width === 'string') return problems.push(width);
    const graphWidth = g.shape[1];
    // The rank must match the graph's (a [-1] card input is fed as [rows], [-1, n] as [rows, n]).
    if (g.shape.length > 0 && g.shape.length !== input.shape.length)
      return problems.push(
        `${where}: shape [${input.shape.join(', ')}] has rank ${input.shape.length} but the graph input is [${g.shape.map(String).join(', ')}]`,
      );
    if (typeof graphWidth === 'number' && graphWidth !== width)
      problems.push(
        `${where}: shape [-1, ${width}] but the graph input is [${g.shape.map(String).join(', ')}]`,
      );
    const rule = compileRule(input, card.signature.fields);
    if (typeof rule === 'string') return problems.push(`${where}: ${rule}`);
    if (rule.width !== width)
      problems.push(`${where}: reads ${rule.width} field(s) but its shape has ${width} column(s)`);
    rules.push(input.shape.length === 1 ? { ...rule, flat: true } : rule);
  });
  const declared = card.inputs.map((i) => i.name);
  const missing = graphNames.filter((g) => !declared.includes(g));
  if (missing.length > 0)
    problems.push(
      `inputs: graph input "${missing.join('", "')}" is not declared in the card (card inputs: ${declared.join(', ')})`,
    );
  return rules;
}

function checkOutputs(card: ModelCard, graph: GraphView, problems: string[]): ServedOutput[] {
  const served: ServedOutput[] = [];
  const graphNames = graph.outputs.map((g) => g.name);
  card.outputs.forEach((output: OutputSpec, i) => {
    const where = `outputs[${i}] "${output.name}"`;
    const g = graph.outputs.find((t) => t.name === output.name);
    if (!g)
      return problems.push(`${where}: not an output of the graph (graph outputs: ${graphNames.join(', ')})`);
    if (!g.isTensor)
      return problems.push(`${where}: the graph returns a sequence or map here; ${ZIPMAP_HINT}`);
    if (g.type !== output.dtype)
      problems.push(`${where}: dtype is ${output.dtype} but the graph produces ${g.type}`);
    const width = widthOf(output.shape, where);
    if (typeof width === 'string') return problems.push(width);
    if (g.shape.length > 0 && g.shape.length !== output.shape.length)
      return problems.push(
        `${where}: shape [${output.shape.join(', ')}] has rank ${output.shape.length} but the graph output is [${g.shape.map(String).join(', ')}]`,
      );
    const graphWidth = g.shape.length === 2 ? g.shape[1] : 1;
    if (typeof graphWidth === 'number' && graphWidth !== width)
      problems.push(`${where}: width ${width} but the graph output is [${g.shape.map(String).join(', ')}]`);
    served.push({ name: output.name, dtype: output.dtype, width });
  });
  return served;
}

const NUMERIC: readonly TensorDtype[] = ['float32', 'float64', 'int64', 'int32'];

function checkTask(card: ModelCard, graph: GraphView, served: ServedOutput[], problems: string[]): TaskView {
  const find = (name: string) => served.find((o) => o.name === name);
  if (card.task === 'regression' && card.regression) {
    const r = card.regression;
    const out = find(r.output);
    if (!out) problems.push(`regression.output: "${r.output}" is not one of the card's outputs`);
    else if (!NUMERIC.includes(out.dtype) || out.width !== 1)
      problems.push(
        `regression.output: "${r.output}" must be one number per row (it is ${out.dtype} x ${out.width})`,
      );
    return {
      kind: 'regression',
      output: r.output,
      name: r.name ?? r.output,
      ...(r.unit ? { unit: r.unit } : {}),
    };
  }
  if (card.task === 'classification' && card.classification) {
    const c = card.classification;
    const label = find(c.label);
    if (!label) problems.push(`classification.label: "${c.label}" is not one of the card's outputs`);
    else if (label.width !== 1) problems.push(`classification.label: "${c.label}" must be one label per row`);
    const zip = graph.zipMaps.find((z) => z.output === c.probabilities);
    const classes = c.classes ?? zip?.classes ?? [];
    if (zip && c.classes && JSON.stringify(zip.classes) !== JSON.stringify(c.classes))
      problems.push(
        `classification.classes: ${JSON.stringify(c.classes)} differ from the graph's ZipMap labels ${JSON.stringify(zip.classes)}`,
      );
    if (c.probabilities) {
      const p = find(c.probabilities);
      if (!p)
        problems.push(`classification.probabilities: "${c.probabilities}" is not one of the card's outputs`);
      else if (p.dtype !== 'float32' && p.dtype !== 'float64')
        problems.push(`classification.probabilities: "${c.probabilities}" must be float32 or float64`);
      else if (classes.length === 0)
        problems.push(
          'classification.classes: give the class names (the graph has no ZipMap to read them from)',
        );
      else if (p.width !== classes.length)
        problems.push(
          `classification.probabilities: "${c.probabilities}" has ${p.width} columns but there are ${classes.length} classes`,
        );
    }
    return {
      kind: 'classification',
      label: c.label,
      ...(c.probabilities ? { probabilities: c.probabilities } : {}),
      classes,
    };
  }
  return { kind: 'outputs' };
}

export function checkCardAgainstGraph(card: ModelCard, graph: GraphView): CheckResult {
  const problems: string[] = [];
  const rules = checkInputs(card, graph, problems);
  const outputs = checkOutputs(card, graph, problems);
  const task = checkTask(card, graph, outputs, problems);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rules, outputs, task };
}

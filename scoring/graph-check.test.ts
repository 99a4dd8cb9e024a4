/** The card held against a graph, without ONNX Runtime: every problem at once, the export hint for a map output. */
import { describe, expect, it } from 'vitest';
import { checkCardAgainstGraph, type GraphView } from './graph-check.js';
import { modelCardSchema } from './model-card.js';

const card = modelCardSchema.parse({
  name: 'm',
  version: '1',
  task: 'classification',
  sha256: 'a'.repeat(64),
  signature: { fields: [{ name: 'x', type: 'number' }] },
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1], from: 'x' }],
  outputs: [
    { name: 'label', dtype: 'int64', shape: [-1] },
    { name: 'probabilities', dtype: 'float32', shape: [-1, 2] },
  ],
  classification: { label: 'label', probabilities: 'probabilities', classes: [0, 1] },
});
const tensor = (name: string, type: string, shape: (number | string)[]) => ({
  name,
  isTensor: true,
  type,
  shape,
});

describe('checkCardAgainstGraph', () => {
  it('accepts a card that fits, with the served outputs and the task', () => {
    const graph: GraphView = {
      inputs: [tensor('x', 'float32', ['N', 1])],
      outputs: [tensor('label', 'int64', ['N']), tensor('probabilities', 'float32', ['N', 2])],
      zipMaps: [],
    };
    expect(checkCardAgainstGraph(card, graph)).toEqual({
      ok: true,
      rules: [{ input: 'x', dtype: 'float32', sources: ['x'], width: 1 }],
      outputs: [
        { name: 'label', dtype: 'int64', width: 1 },
        { name: 'probabilities', dtype: 'float32', width: 2 },
      ],
      task: { kind: 'classification', label: 'label', probabilities: 'probabilities', classes: [0, 1] },
    });
  });

  it('refuses a graph output that is still a sequence of maps, saying what to change at export', () => {
    const graph: GraphView = {
      inputs: [tensor('x', 'float32', ['N', 1])],
      outputs: [
        tensor('label', 'int64', ['N']),
        { name: 'probabilities', isTensor: false, type: 'non-tensor', shape: [] },
      ],
      zipMaps: [],
    };
    const result = checkCardAgainstGraph(card, graph);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]).toBe(
      'outputs[1] "probabilities": the graph returns a sequence or map here; export it as a tensor ' +
        '(skl2onnx: options={id(model): {"zipmap": False}}), or end the graph in a ZipMap, which the server takes out',
    );
  });

  it('names a width that disagrees with the graph and a non-tensor input', () => {
    const graph: GraphView = {
      inputs: [{ name: 'x', isTensor: false, type: 'non-tensor', shape: [] }],
      outputs: [tensor('label', 'int64', ['N']), tensor('probabilities', 'float32', ['N', 3])],
      zipMaps: [],
    };
    const result = checkCardAgainstGraph(card, graph);
    expect(result.ok ? [] : result.problems).toEqual([
      'inputs[0] "x": the graph input is not a tensor; the server feeds tensors only',
      'outputs[1] "probabilities": width 2 but the graph output is [N, 3]',
    ]);
  });

  it('holds the rank to the graph: a [-1] card input is fed flat, a [-1, 1] card for a 1-D input is refused', () => {
    const graph: GraphView = {
      inputs: [tensor('x', 'float32', ['N'])],
      outputs: [tensor('label', 'int64', ['N']), tensor('probabilities', 'float32', ['N', 2])],
      zipMaps: [],
    };
    const refused = checkCardAgainstGraph(card, graph);
    expect(refused.ok ? [] : refused.problems).toEqual([
      'inputs[0] "x": shape [-1, 1] has rank 2 but the graph input is [N]',
    ]);
    const flat = modelCardSchema.parse({
      ...card,
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1], from: 'x' }],
    });
    const accepted = checkCardAgainstGraph(flat, graph);
    expect(accepted.ok && accepted.rules).toEqual([
      { input: 'x', dtype: 'float32', sources: ['x'], width: 1, flat: true },
    ]);
    const wideOut = checkCardAgainstGraph(card, {
      ...graph,
      inputs: [tensor('x', 'float32', ['N', 1])],
      outputs: [tensor('label', 'int64', ['N', 1]), graph.outputs[1] ?? tensor('p', 'float32', [])],
    });
    expect(wideOut.ok ? [] : wideOut.problems).toEqual([
      'outputs[0] "label": shape [-1] has rank 1 but the graph output is [N, 1]',
      'classification.label: "label" is not one of the card\'s outputs',
    ]);
  });
});

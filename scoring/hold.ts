/**
 * A holding lane for calls that nobody waits on (shadow scoring, after the response is sent): a version's calls
 * are held up to `holdMs` (or until `maxRows` rows wait) and scored as one call, each answered with its own part.
 * Off the response path a few milliseconds cost nothing, and one call for many saves a thread wake-up, a message
 * each way and an ONNX run per call: what a shadow call costs is otherwise mostly that, not its rows.
 */
import type { FieldRecord, ResolvedModel, ScoreOutput } from '../contracts/scoring.js';
import { split } from './batcher.js';

export type ScoreRecords = (model: ResolvedModel, records: readonly FieldRecord[]) => Promise<ScoreOutput>;

interface Held {
  model: ResolvedModel;
  inputs: (readonly FieldRecord[])[];
  waiting: { resolve(out: ScoreOutput): void; reject(err: unknown): void }[];
  rows: number;
  timer: NodeJS.Timeout | undefined;
}

export function createHold(score: ScoreRecords, o: { holdMs: number; maxRows: number }): ScoreRecords {
  const held = new Map<string, Held>();
  const send = (key: string) => {
    const h = held.get(key);
    if (!h) return;
    held.delete(key);
    clearTimeout(h.timer);
    const { inputs, waiting } = h;
    // From a timer: a scorer that throws at once must still answer every held call, never escape as uncaught.
    const run = Promise.resolve().then(async () =>
      inputs.length === 1
        ? [await score(h.model, inputs[0] ?? [])]
        : split(await score(h.model, inputs.flat()), inputs),
    );
    run.then(
      (outs) => waiting.forEach((w, i) => w.resolve(outs[i] as ScoreOutput)),
      (err: unknown) => waiting.forEach((w) => w.reject(err)),
    );
  };
  return (model, records) =>
    new Promise<ScoreOutput>((resolve, reject) => {
      const key = `${model.name}@${model.version}`;
      let h = held.get(key);
      if (!h) {
        h = { model, inputs: [], waiting: [], rows: 0, timer: undefined };
        held.set(key, h);
        h.timer = setTimeout(() => send(key), o.holdMs);
      }
      h.inputs.push(records);
      h.waiting.push({ resolve, reject });
      h.rows += records.length;
      if (h.rows >= o.maxRows) send(key);
    });
}

/**
 * A holding lane for one version's record calls: calls are held up to `holdMs` (or until `maxRows` rows wait) and
 * scored as one call, each answered with its own part. One call for many saves a thread wake-up, a message each way
 * and an ONNX run per call: what a challenger's call costs is otherwise mostly that, not its rows.
 * - Shadow calls (nobody waits on them) are always held.
 * - Canary calls (`whenRecent`) are held only when another call of their version came less than `holdMs` ago: a
 *   lone call, or any call at a low rate, goes at the end of its event-loop turn (with the calls routed in the same
 *   turn, ROUTING_DRAW=turn) and waits for no timer; under load a call waits at most `holdMs` for the next ones.
 */
import type { FieldRecord, ResolvedModel, ScoreOutput } from '../contracts/scoring.js';
import { scoreAsOne } from './batcher.js';

export type ScoreRecords = (model: ResolvedModel, records: readonly FieldRecord[]) => Promise<ScoreOutput>;

export interface HoldOptions {
  holdMs: number;
  maxRows: number;
  /** Hold a call only when the version's previous call came less than `holdMs` before it. */
  whenRecent?: boolean;
}

interface Held {
  model: ResolvedModel;
  inputs: (readonly FieldRecord[])[];
  waiting: { resolve(out: ScoreOutput): void; reject(err: unknown): void }[];
  rows: number;
  timer: NodeJS.Timeout | undefined;
}

export function createHold(score: ScoreRecords, o: HoldOptions): ScoreRecords {
  const held = new Map<string, Held>();
  const lastCall = new Map<string, number>();
  const send = (h: Held) => {
    clearTimeout(h.timer);
    const { inputs, waiting } = h;
    // From a timer: a scorer that throws at once must still answer every held call, never escape as uncaught.
    Promise.resolve()
      .then(() => scoreAsOne(score, h.model, inputs))
      .then(
        (outs) => waiting.forEach((w, i) => w.resolve(outs[i] as ScoreOutput)),
        (err: unknown) => waiting.forEach((w) => w.reject(err)),
      );
  };
  const sendHeld = (key: string) => {
    const h = held.get(key);
    if (!h) return;
    held.delete(key);
    send(h);
  };
  /** Whether a call of `key` now follows the previous one closely enough to be held (always, without whenRecent). */
  const holds = (key: string): boolean => {
    if (!o.whenRecent) return true;
    const now = performance.now();
    const previous = lastCall.get(key);
    lastCall.set(key, now);
    return previous !== undefined && now - previous < o.holdMs;
  };
  return (model, records) =>
    new Promise<ScoreOutput>((resolve, reject) => {
      const key = `${model.name}@${model.version}`;
      const recent = holds(key);
      let h = held.get(key);
      if (!h) {
        h = {
          model,
          inputs: [records],
          waiting: [{ resolve, reject }],
          rows: records.length,
          timer: undefined,
        };
        held.set(key, h);
        // Nothing came recently: it goes at the end of this turn, with the calls routed in the same turn.
        if (!recent) setImmediate(() => held.get(key) === h && sendHeld(key));
        else h.timer = setTimeout(() => sendHeld(key), o.holdMs);
      } else {
        h.inputs.push(records);
        h.waiting.push({ resolve, reject });
        h.rows += records.length;
      }
      if (h.rows >= o.maxRows) sendHeld(key);
    });
}

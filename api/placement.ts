/**
 * Where a challenger's canary calls score (CHALLENGER_THREAD=auto): in the scoring thread until its runs there have
 * shown it cheap, then on the main thread beside the champion. A canary call on the main thread costs the API about
 * what the champion call it replaces does, while one through the thread costs the main thread a message each way
 * and a hold (bench/README.md, Rollouts); but a run on the main thread holds every answer behind it, so only a
 * version whose runs are short goes there. (Shadow calls add work instead of replacing it: they stay in the thread,
 * api/online.ts.)
 * - Each run in the thread is timed there. Once `TIMED_RUNS` runs are timed, the version scores on the main thread
 *   while the median of its last `TIMED_RUNS` is at most `maxRunUs`. The median, not the longest: on a busy machine
 *   the thread is at times descheduled in the middle of a short run, which a version that is slow has on every run.
 * - On the main thread, one call in `SAMPLE_EVERY` still goes to the thread to be timed, so a version whose runs
 *   become long goes back within a few samples.
 * A version slow from its first runs never scores on the main thread.
 */

import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** Runs timed in the thread before a version may leave it, and the window whose median decides. */
export const TIMED_RUNS = 8;
/** On the main thread, one call in this many is timed in the thread again. */
export const SAMPLE_EVERY = 128;

export interface Placement {
  /** Whether this call of `ref` (`name@version`) goes to the scoring thread; false: the main thread. */
  toThread(ref: string): boolean;
  /** A run of `ref` in the scoring thread took `runUs`. */
  timed(ref: string, runUs: number): void;
  /** Whether `ref` scores on the main thread now. */
  inline(ref: string): boolean;
}

interface State {
  inline: boolean;
  /** The last TIMED_RUNS run times, oldest first. */
  runs: number[];
  calls: number;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Told when a version moves: to the main thread (`inline`) or back to the thread, with the median that decided. */
export type PlacementChange = (ref: string, inline: boolean, medianRunUs: number) => void;

/** `maxRunUs` 0: every call goes to the thread. */
export function createPlacement(maxRunUs: number, onChange?: PlacementChange): Placement {
  const versions = new Map<string, State>();
  const stateOf = (ref: string): State => {
    let s = versions.get(ref);
    if (!s) versions.set(ref, (s = { inline: false, runs: [], calls: 0 }));
    return s;
  };
  return {
    toThread(ref) {
      const s = stateOf(ref);
      if (!s.inline) return true;
      s.calls = (s.calls + 1) % SAMPLE_EVERY;
      return s.calls === 0;
    },
    timed(ref, runUs) {
      const s = stateOf(ref);
      s.runs.push(runUs);
      if (s.runs.length > TIMED_RUNS) s.runs.shift();
      const mid = median(s.runs);
      const inline = maxRunUs > 0 && s.runs.length === TIMED_RUNS && mid <= maxRunUs;
      if (inline !== s.inline) onChange?.(ref, inline, mid);
      s.inline = inline;
    },
    inline: (ref) => versions.get(ref)?.inline ?? false,
  };
}

/** The placement CHALLENGER_THREAD asks for: with `auto`, one whose every move is logged; otherwise none. */
export function placementFor(config: Config, logger?: Logger): Placement | undefined {
  const { challengerThread, challengerInlineMaxUs: maxRunUs } = config.api;
  if (challengerThread !== 'auto') return undefined;
  return createPlacement(maxRunUs, (model, inline, medianRunUs) =>
    logger?.info(
      { model, medianRunUs: Math.round(medianRunUs), maxRunUs },
      inline
        ? 'challenger canary calls score on the main thread'
        : 'challenger canary calls score in the scoring thread',
    ),
  );
}

/**
 * A scoring thread: a worker thread with its own ONNX sessions, so a version's runs leave the main thread. The API
 * sends a deployment's challenger here (canary and shadow calls), so the champion's requests never queue behind a
 * challenger's run on the one JavaScript thread that answers them. The thread loads a version the first time it is
 * asked for it (the same checks as the main registry), batches the requests that reach it together like the main
 * batcher does, and answers each with its own ScoreOutput. Started on first use; a thread that dies fails what it
 * had in hand (the caller's canary fallback answers with the champion) and is started again by the next call.
 */
import type { FieldRecord, ScoreOutput } from '../contracts/scoring.js';
import type { Logger } from '../logger.js';
import type { LoadedModel } from './load-model.js';
import { createThreadClient } from './thread-client.js';

/** What the main thread sends: the version's folder (the thread loads it once), and the records. */
export interface ThreadRequest {
  dir: string;
  name: string;
  version: string;
  records: readonly FieldRecord[];
}

/** The thread's settings (workerData). */
export interface ThreadSettings {
  intraOpThreads: number;
  /** Rows per coalesced run in the thread (the main batcher's DYNAMIC_BATCH_MAX_SIZE). */
  maxBatchSize: number;
}

/**
 * The thread's answer: the request's output and, in the first answer of each run (a run may score several
 * requests), how long that run took there (µs).
 */
export interface ThreadAnswer {
  output: ScoreOutput;
  runUs?: number;
}

export interface ThreadScorer {
  /** Scores `records`; `timed` hears how long the thread's run took, once per run (api/placement.ts). */
  score(
    model: LoadedModel,
    records: readonly FieldRecord[],
    timed?: (runUs: number) => void,
  ): Promise<ScoreOutput>;
  /** Requests sent and not answered yet. */
  pending(): number;
  close(): Promise<void>;
}

export function createThreadScorer(settings: ThreadSettings, logger: Logger): ThreadScorer {
  const client = createThreadClient<ThreadRequest, ThreadAnswer>({
    here: new URL(import.meta.url),
    entry: 'score-thread-entry',
    workerData: settings,
    name: 'scoring thread',
    onError: (err) =>
      logger.error({ err: err.message }, 'scoring thread failed; it starts again on the next call'),
  });
  return {
    score: async (model, records, timed) => {
      const answer = await client.call({ dir: model.dir, name: model.name, version: model.version, records });
      if (answer.runUs !== undefined) timed?.(answer.runUs);
      return answer.output;
    },
    pending: client.pending,
    close: client.close,
  };
}

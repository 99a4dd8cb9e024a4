/**
 * A scoring thread: a worker thread with its own ONNX sessions, so a version's runs leave the main thread. The API
 * sends a deployment's challenger here (canary and shadow calls), so the champion's requests never queue behind a
 * challenger's run on the one JavaScript thread that answers them. The thread loads a version the first time it is
 * asked for it (the same checks as the main registry), batches the requests that reach it together like the main
 * batcher does, and answers each with its own ScoreOutput. Started on first use; a thread that dies fails what it
 * had in hand (the caller's canary fallback answers with the champion) and is started again by the next call.
 */
import type { Worker } from 'node:worker_threads';
import type { FieldRecord, ScoreOutput } from '../contracts/scoring.js';
import type { Logger } from '../logger.js';
import type { LoadedModel } from './load-model.js';
import { threadEntry } from './thread-entry.js';

/** What the main thread sends: the version's folder (the thread loads it once), and the records. */
export interface ThreadRequest {
  id: number;
  dir: string;
  name: string;
  version: string;
  records: readonly FieldRecord[];
}

/** Asks the thread to stop once its runs in flight are done (it answers nothing more, then exits). */
export interface ThreadClose {
  close: true;
}

/** How long close() waits for the thread to stop by itself before it terminates it. */
const CLOSE_GRACE_MS = 10_000;

export type ThreadReply =
  { id: number; out: ScoreOutput } | { id: number; error: { name: string; message: string } };

/** The thread's settings (workerData). */
export interface ThreadSettings {
  intraOpThreads: number;
  /** Rows per coalesced run in the thread (the main batcher's DYNAMIC_BATCH_MAX_SIZE). */
  maxBatchSize: number;
}

export interface ThreadScorer {
  score(model: LoadedModel, records: readonly FieldRecord[]): Promise<ScoreOutput>;
  /** Requests sent and not answered yet. */
  pending(): number;
  close(): Promise<void>;
}

export function createThreadScorer(settings: ThreadSettings, logger: Logger): ThreadScorer {
  let worker: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, { resolve(out: ScoreOutput): void; reject(err: Error): void }>();

  const failAll = (reason: string) => {
    const err = new Error(reason);
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };

  const start = (): Worker => {
    const w = threadEntry(new URL(import.meta.url), 'score-thread-entry', settings);
    w.unref();
    w.on('message', (reply: ThreadReply) => {
      const entry = waiting.get(reply.id);
      if (!entry) return;
      waiting.delete(reply.id);
      if ('out' in reply) entry.resolve(reply.out);
      else entry.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
    w.on('error', (err) => {
      logger.error({ err: err.message }, 'scoring thread failed; it starts again on the next call');
    });
    w.on('exit', (code) => {
      // A thread that was closed has nothing left here (close() failed it), and must not fail its successor's calls.
      if (worker !== w) return;
      worker = undefined;
      failAll(`the scoring thread exited (code ${code}) before it answered`);
    });
    return w;
  };

  return {
    score(model, records) {
      worker ??= start();
      const id = nextId++;
      const request: ThreadRequest = {
        id,
        dir: model.dir,
        name: model.name,
        version: model.version,
        records,
      };
      return new Promise<ScoreOutput>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker?.postMessage(request);
      });
    },
    pending: () => waiting.size,
    async close() {
      const w = worker;
      worker = undefined;
      // What it holds fails now: a reply that arrives while the thread stops is not delivered.
      failAll('the scoring thread was closed');
      if (!w) return;
      w.removeAllListeners('message');
      // Asked to stop rather than terminated: terminating a thread while ONNX Runtime runs in it can bring the
      // whole process down. It finishes its runs in flight, answers nothing more and exits; terminate() only if not.
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ close: true } satisfies ThreadClose);
      const timer = setTimeout(() => void w.terminate(), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A session thread: ONNX runs of loaded versions in a worker thread, fed with the tensors the main thread built.
 * Batch scoring uses it so that one chunk's run does not hold the JavaScript thread the other chunks decode and
 * encode their pages on (onnxruntime-node runs a session synchronously on the calling thread). Only tensors cross:
 * the feeds are copied in, the outputs come back transferred. The thread loads each version once (the same checks
 * as the main registry). Started on first use; a thread that dies fails its runs in hand and is started again.
 */
import type { Worker } from 'node:worker_threads';
import type ort from 'onnxruntime-node';
import type { LoadedModel } from './load-model.js';
import { threadEntry } from './thread-entry.js';

export interface RunRequest {
  id: number;
  dir: string;
  name: string;
  version: string;
  feeds: Record<string, { type: ort.Tensor.Type; dims: readonly number[]; data: ort.Tensor.DataType }>;
  fetches: string[];
}

export type RunReply =
  | { id: number; outputs: Record<string, ort.Tensor.DataType> }
  | { id: number; error: { name: string; message: string } };

export type SessionRun = (
  model: LoadedModel,
  feeds: Record<string, ort.Tensor>,
  fetches: string[],
) => Promise<Record<string, { data: ort.Tensor.DataType }>>;

export interface SessionThread {
  run: SessionRun;
  close(): Promise<void>;
}

export function createSessionThread(settings: { intraOpThreads: number }): SessionThread {
  let worker: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<
    number,
    { resolve(out: Record<string, { data: ort.Tensor.DataType }>): void; reject(err: Error): void }
  >();
  const failAll = (reason: string) => {
    for (const w of waiting.values()) w.reject(new Error(reason));
    waiting.clear();
  };
  const start = (): Worker => {
    const w = threadEntry(new URL(import.meta.url), 'session-thread-entry', settings);
    w.unref();
    w.on('message', (reply: RunReply) => {
      const entry = waiting.get(reply.id);
      if (!entry) return;
      waiting.delete(reply.id);
      if ('outputs' in reply)
        entry.resolve(Object.fromEntries(Object.entries(reply.outputs).map(([k, data]) => [k, { data }])));
      else entry.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
    // An uncaught error in the thread fails its runs (they are retried as the activity's attempt); the exit follows.
    w.on('error', (err) => {
      if (worker === w) failAll(`the session thread failed: ${err.message}`);
    });
    w.on('exit', (code) => {
      if (worker !== w) return;
      worker = undefined;
      failAll(`the session thread exited (code ${code}) before it answered`);
    });
    return w;
  };
  return {
    run(model, feeds, fetches) {
      worker ??= start();
      const id = nextId++;
      const request: RunRequest = {
        id,
        dir: model.dir,
        name: model.name,
        version: model.version,
        feeds: Object.fromEntries(
          Object.entries(feeds).map(([k, t]) => [k, { type: t.type, dims: t.dims, data: t.data }]),
        ),
        fetches,
      };
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker?.postMessage(request);
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      failAll('the session thread was closed');
      if (!w) return;
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ close: true });
      const timer = setTimeout(() => void w.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

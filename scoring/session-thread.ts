/**
 * A session thread: ONNX runs of loaded versions in a worker thread, fed with the tensors the main thread built.
 * Batch scoring uses it so that one chunk's run does not hold the JavaScript thread the other chunks decode and
 * encode their pages on (onnxruntime-node runs a session synchronously on the calling thread). Only tensors cross:
 * the feeds are copied in, the outputs come back transferred. The thread loads each version once (the same checks
 * as the main registry). Started on first use; a thread that dies fails its runs in hand and is started again.
 */
import type ort from 'onnxruntime-node';
import type { LoadedModel } from './load-model.js';
import { createThreadClient } from './thread-client.js';

export interface RunRequest {
  dir: string;
  name: string;
  version: string;
  feeds: Record<string, { type: ort.Tensor.Type; dims: readonly number[]; data: ort.Tensor.DataType }>;
  fetches: string[];
}

/** The fetched outputs' data by name. */
export type RunOutputs = Record<string, ort.Tensor.DataType>;

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
  // A thread's failure fails its runs, which are retried as the activity's attempt.
  const client = createThreadClient<RunRequest, RunOutputs>({
    here: new URL(import.meta.url),
    entry: 'session-thread-entry',
    workerData: settings,
    name: 'session thread',
  });
  return {
    async run(model, feeds, fetches) {
      const outputs = await client.call({
        dir: model.dir,
        name: model.name,
        version: model.version,
        feeds: Object.fromEntries(
          Object.entries(feeds).map(([k, t]) => [k, { type: t.type, dims: t.dims, data: t.data }]),
        ),
        fetches,
      });
      return Object.fromEntries(Object.entries(outputs).map(([k, data]) => [k, { data }]));
    },
    close: client.close,
  };
}

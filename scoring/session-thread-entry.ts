/** The session thread's side (see session-thread.ts): loads each version once, runs the feeds it is sent. */
import { workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { RunOutputs, RunRequest } from './session-thread.js';
import { serveThread, threadModels } from './thread-serve.js';

const settings = workerData as { intraOpThreads: number };
const modelFor = threadModels(settings.intraOpThreads);

serveThread<RunRequest & { id: number }>(async (request) => {
  const model = await modelFor(request);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
  const result = await model.session.run(feeds, request.fetches);
  const out: RunOutputs = {};
  const transfer: ArrayBuffer[] = [];
  for (const name of request.fetches) {
    const data = result[name]?.data;
    if (data === undefined) continue;
    out[name] = data;
    if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
  }
  return { out, transfer };
});

/** The session thread's side (see session-thread.ts): loads each version once, runs the feeds it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { loadModel, type LoadedModel } from './load-model.js';
import type { RunReply, RunRequest } from './session-thread.js';

const settings = workerData as { intraOpThreads: number };
const port = parentPort;
if (!port) throw new Error('session-thread-entry runs as a worker thread');

const models = new Map<string, Promise<LoadedModel>>();
const modelFor = (r: RunRequest): Promise<LoadedModel> => {
  const ref = `${r.name}@${r.version}`;
  let model = models.get(ref);
  if (!model) {
    model = loadModel(r.dir, r.name, r.version, { intraOpThreads: settings.intraOpThreads });
    model.catch(() => models.delete(ref));
    models.set(ref, model);
  }
  return model;
};

let inFlight = 0;
let closing = false;
const exitWhenIdle = () => {
  if (closing && inFlight === 0) port.close();
};

port.on('message', (message: RunRequest | { close: true }) => {
  if ('close' in message) {
    closing = true;
    exitWhenIdle();
    return;
  }
  const request = message;
  inFlight++;
  void (async () => {
    let reply: RunReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const model = await modelFor(request);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(request.feeds))
        feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
      const result = await model.session.run(feeds, request.fetches);
      const outputs: RunReply & { outputs: Record<string, ort.Tensor.DataType> } = {
        id: request.id,
        outputs: {},
      };
      for (const name of request.fetches) {
        const data = result[name]?.data;
        if (data === undefined) continue;
        outputs.outputs[name] = data;
        if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
      }
      reply = outputs;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { id: request.id, error: { name: e.name, message: e.message } };
    }
    if (!closing) port.postMessage(reply, transfer);
  })().finally(() => {
    inFlight--;
    exitWhenIdle();
  });
});

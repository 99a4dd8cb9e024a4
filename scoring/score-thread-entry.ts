/**
 * The scoring thread's side (see score-thread.ts): loads each version asked for once, coalesces the requests that
 * arrive while a run is in flight (the main batcher's lanes), and posts each request's output back with copies of
 * its columns, so a reply never carries another request's rows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { OutputColumn, ResolvedModel, ScoreOutput } from '../contracts/scoring.js';
import { createBatcher } from './batcher.js';
import { loadModel, type LoadedModel } from './load-model.js';
import type { ThreadClose, ThreadReply, ThreadRequest, ThreadSettings } from './score-thread.js';
import { scoreRows } from './scorer.js';

const settings = workerData as ThreadSettings;
const port = parentPort;
if (!port) throw new Error('score-thread-entry runs as a worker thread');

const models = new Map<string, Promise<LoadedModel>>();
const modelFor = (request: ThreadRequest): Promise<LoadedModel> => {
  const ref = `${request.name}@${request.version}`;
  let model = models.get(ref);
  if (!model) {
    model = loadModel(request.dir, request.name, request.version, {
      intraOpThreads: settings.intraOpThreads,
    });
    // A version that failed to load is tried again by the next request, not cached as a failure.
    model.catch(() => models.delete(ref));
    models.set(ref, model);
  }
  return model;
};

const loaded = new Map<string, LoadedModel>();
const batcher = createBatcher(
  {
    async score(ref, rows) {
      const { name, version } = ref as ResolvedModel;
      const model = loaded.get(`${name}@${version}`);
      if (!model) throw new Error(`${name}@${version} is not loaded in the scoring thread`);
      return scoreRows(model, rows);
    },
  },
  {
    enabled: true,
    maxQueue: Number.MAX_SAFE_INTEGER,
    limits: () => ({ maxSize: settings.maxBatchSize, maxDelayUs: 0 }),
  },
);

const copyColumn = (c: OutputColumn): OutputColumn => ({ ...c, data: c.data.slice() });

function own(out: ScoreOutput): ScoreOutput {
  const outputs: Record<string, OutputColumn> = {};
  for (const [name, column] of Object.entries(out.outputs)) outputs[name] = copyColumn(column);
  return { ...out, scored: out.scored.slice(), outputs };
}

// Asked to close, the thread answers nothing more and lets go of its port once its runs in flight end: the event
// loop empties and the thread exits without a run cut short.
let inFlight = 0;
let closing = false;
const exitWhenIdle = () => {
  if (closing && inFlight === 0) port.close();
};

port.on('message', (message: ThreadRequest | ThreadClose) => {
  if ('close' in message) {
    closing = true;
    exitWhenIdle();
    return;
  }
  if (closing) return;
  const request = message;
  inFlight++;
  void (async () => {
    let reply: ThreadReply;
    try {
      const model = await modelFor(request);
      loaded.set(model.ref, model);
      const out = own(await batcher.score({ name: model.name, version: model.version }, request.records));
      reply = { id: request.id, out };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { id: request.id, error: { name: e.name, message: e.message } };
    }
    if (!closing) port.postMessage(reply);
  })().finally(() => {
    inFlight--;
    exitWhenIdle();
  });
});

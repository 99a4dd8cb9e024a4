/**
 * The thread side of scoring/thread-client.ts: answers each request by its id with what `handle` returns (or the
 * error it threw, by name and message), and once asked to close answers nothing more and lets go of its port when
 * its runs in flight end, so the thread exits without a run cut short. Also the versions a thread loads, once each.
 */
import { parentPort } from 'node:worker_threads';
import { loadModel, type LoadedModel } from './load-model.js';
import type { ThreadClose, ThreadReply } from './thread-client.js';

export function serveThread<Request extends { id: number }>(
  handle: (request: Request) => Promise<{ out: unknown; transfer?: ArrayBuffer[] }>,
): void {
  const port = parentPort;
  if (!port) throw new Error('a thread entry runs as a worker thread');
  let inFlight = 0;
  let closing = false;
  const exitWhenIdle = () => {
    if (closing && inFlight === 0) port.close();
  };
  port.on('message', (message: Request | ThreadClose) => {
    if ('close' in message) {
      closing = true;
      exitWhenIdle();
      return;
    }
    if (closing) return;
    const request = message;
    inFlight++;
    void (async () => {
      let reply: ThreadReply<unknown>;
      let transfer: ArrayBuffer[] = [];
      try {
        const answer = await handle(request);
        reply = { id: request.id, out: answer.out };
        transfer = answer.transfer ?? [];
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
}

/** Loads each version asked for once (the main registry's checks); a version that failed is tried again next time. */
export function threadModels(intraOpThreads: number) {
  const models = new Map<string, Promise<LoadedModel>>();
  return (r: { dir: string; name: string; version: string }): Promise<LoadedModel> => {
    const ref = `${r.name}@${r.version}`;
    let model = models.get(ref);
    if (!model) {
      model = loadModel(r.dir, r.name, r.version, { intraOpThreads });
      model.catch(() => models.delete(ref));
      models.set(ref, model);
    }
    return model;
  };
}

/**
 * Request and reply by id over one worker thread, the main side of scoring/thread-serve.ts: the scoring thread
 * (challengers' records) and the session thread (batch pages' tensors) are both built on it. The thread starts on
 * the first call; one that exits fails what it had in hand and the next call starts another. close() fails what is
 * in hand at once and asks the thread to stop: terminating a thread while ONNX Runtime runs in it can bring the
 * whole process down, so it finishes its runs in flight, answers nothing more and exits (terminated after 10 s).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** How long close() waits for the thread to stop by itself before it terminates it. */
const CLOSE_GRACE_MS = 10_000;

export type ThreadReply<Out> =
  { id: number; out: Out } | { id: number; error: { name: string; message: string } };

/** Asks the thread to stop once its runs in flight are done. */
export interface ThreadClose {
  close: true;
}

export interface ThreadClient<Body, Out> {
  call: (body: Body) => Promise<Out>;
  /** Calls sent and not answered yet. */
  pending: () => number;
  close: () => Promise<void>;
}

/** A sibling entry module: compiled JavaScript as is; TypeScript (tsx, vitest) through tsx's loader, registered first. */
function startEntry(here: URL, entry: string, workerData: unknown): Worker {
  if (here.pathname.endsWith('.js')) return new Worker(new URL(`./${entry}.js`, here), { workerData });
  const tsxPackage = createRequire(here).resolve('tsx/package.json');
  const api = pathToFileURL(path.join(path.dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const file = new URL(`./${entry}.ts`, here).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); });`;
  return new Worker(code, { eval: true, workerData });
}

export function createThreadClient<Body extends object, Out>(o: {
  /** The caller's import.meta.url: the entry is its sibling. */
  here: URL;
  entry: string;
  workerData: unknown;
  /** Names the thread in the errors of the calls it fails. */
  name: string;
  /** Told of an uncaught error in the thread (the calls in hand fail with it). */
  onError?: (err: Error) => void;
}): ThreadClient<Body, Out> {
  let worker: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, { resolve(out: Out): void; reject(err: Error): void }>();
  const failAll = (reason: string) => {
    const err = new Error(reason);
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const start = (): Worker => {
    const w = startEntry(o.here, o.entry, o.workerData);
    w.unref();
    w.on('message', (reply: ThreadReply<Out>) => {
      const entry = waiting.get(reply.id);
      if (!entry) return;
      waiting.delete(reply.id);
      if ('out' in reply) entry.resolve(reply.out);
      else entry.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
    // An uncaught error in the thread fails what it holds at once; the exit follows.
    w.on('error', (err) => {
      o.onError?.(err);
      if (worker === w) failAll(`the ${o.name} failed: ${err.message}`);
    });
    w.on('exit', (code) => {
      // A thread that was closed has nothing left here (close() failed it), and must not fail its successor's calls.
      if (worker !== w) return;
      worker = undefined;
      failAll(`the ${o.name} exited (code ${code}) before it answered`);
    });
    return w;
  };
  return {
    call: (body) => {
      worker ??= start();
      const id = nextId++;
      return new Promise<Out>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker?.postMessage({ ...body, id });
      });
    },
    pending: () => waiting.size,
    close: async () => {
      const w = worker;
      worker = undefined;
      // What it holds fails now: a reply that arrives while the thread stops is not delivered.
      failAll(`the ${o.name} was closed`);
      if (!w) return;
      w.removeAllListeners('message');
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ close: true } satisfies ThreadClose);
      const timer = setTimeout(() => void w.terminate(), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

import { toast } from '../dom.js';

/** What a section of the dashboard is: a page under /ui/<id>, rendered into `root`, stopped through `signal`. */

export interface SectionContext {
  root: HTMLElement;
  /** Aborted when the reader leaves the page: live feeds and timers stop with it. */
  signal: AbortSignal;
  /** The page's query (e.g. `?stream=demo`). */
  params: URLSearchParams;
  /** Moves to another dashboard path without reloading. */
  navigate(path: string): void;
}

export interface Section {
  id: string;
  /** The path under the API, `/ui` or `/ui/<id>` (also a route of api/routes/ui.ts). */
  path: string;
  title: string;
  render(ctx: SectionContext): Promise<void>;
}

/** Calls `fn` at most once per `ms`, trailing: a burst of live events gives one refresh. */
export function throttle(ms: number, fn: () => Promise<void>): () => void {
  let timer: number | undefined;
  let running = false;
  let again = false;
  const run = async () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await background(fn);
    } finally {
      running = false;
      if (again) {
        again = false;
        timer ??= window.setTimeout(() => void run(), ms);
      }
    }
  };
  return () => {
    timer ??= window.setTimeout(() => void run(), ms);
  };
}

/** Runs a refresh nobody awaits: leaving the page (an aborted fetch) is silent, any other failure is shown. */
async function background(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') return;
    toast(`Could not refresh: ${(err as Error).message}`);
  }
}

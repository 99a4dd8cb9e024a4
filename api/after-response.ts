/**
 * Work the app starts after a response is sent (a shadow call is scored once its caller has the champion's answer).
 * On shutdown the server waits for it to settle after the last response and before the prediction log closes, so
 * the rows it logs are written, not dropped.
 */
/** How long a shutting-down server waits for it (a shadow call takes its hold plus one scoring run). */
export const AFTER_RESPONSE_SETTLE_MS = 5_000;

export interface AfterResponse {
  track(work: Promise<unknown>): void;
  running(): number;
  /** Resolves once nothing tracked is running, or after `timeoutMs`; answers how many were still running then. */
  settle(timeoutMs: number): Promise<number>;
}

export function createAfterResponse(): AfterResponse {
  const running = new Set<Promise<unknown>>();
  return {
    track(work) {
      const settled: Promise<unknown> = work.catch(() => undefined).finally(() => running.delete(settled));
      running.add(settled);
    },
    running: () => running.size,
    async settle(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), timeoutMs);
      });
      try {
        // Work tracked while waiting (a call that started just before) is waited for too.
        while (running.size > 0) {
          if ((await Promise.race([Promise.all([...running]), expired])) === 'expired') break;
        }
      } finally {
        clearTimeout(timer);
      }
      return running.size;
    },
  };
}

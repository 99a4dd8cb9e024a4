/**
 * The restart policy of `npm start` (like compose `restart: unless-stopped` with a crash-loop guard): a worker or
 * API that exits without being told to is started again after an exponential backoff, and the supervisor gives up
 * only when one keeps crashing (by default 5 times within 60 s).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Managed } from './process.js';

export interface RestartPolicy {
  /** This many crashes within `windowMs` is a crash loop: stop instead of restarting. */
  maxCrashes: number;
  windowMs: number;
  /** Wait before the first restart; doubled for each further crash in the window, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxCrashes: 5,
  windowMs: 60_000,
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
};

export type CrashDecision =
  { action: 'restart'; delayMs: number; crashes: number } | { action: 'give-up'; crashes: number };

/** Counts one process's recent crashes and decides what to do about the next one. */
export class CrashTracker {
  private crashes: number[] = [];

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  crashed(now: number): CrashDecision {
    this.crashes = [...this.crashes.filter((t) => now - t < this.policy.windowMs), now];
    const crashes = this.crashes.length;
    if (crashes >= this.policy.maxCrashes) return { action: 'give-up', crashes };
    const delayMs = Math.min(this.policy.initialDelayMs * 2 ** (crashes - 1), this.policy.maxDelayMs);
    return { action: 'restart', delayMs, crashes };
  }
}

export interface SupervisedOptions {
  name: string;
  start: () => Managed;
  /** Holds the current pid (rewritten on each restart, removed on stop) so tools and tests can find it. */
  pidFile: string;
  policy?: RestartPolicy;
  onStarted: (pid: number | undefined) => void;
  onCrash: (code: number | null, decision: CrashDecision) => void;
  /** Called once on a crash loop; the supervisor then stops everything. */
  onGiveUp: (message: string) => void;
}

export interface Supervised {
  name: string;
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts a process and keeps it running by the policy until stop(). */
export function supervise(options: SupervisedOptions): Supervised {
  const policy = options.policy ?? DEFAULT_RESTART_POLICY;
  const tracker = new CrashTracker(policy);
  let current: Managed | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const launch = () => {
    const managed = options.start();
    current = managed;
    const pid = managed.child.pid;
    // The pid file is written before the start is announced (whoever reads it on seeing the line gets this pid),
    // and a crash is told only after its start was.
    const announced = writePid(options.pidFile, pid).finally(() => options.onStarted(pid));
    void Promise.all([managed.exited, announced]).then(([code]) => {
      if (stopped || current !== managed) return;
      const decision = tracker.crashed(Date.now());
      options.onCrash(code, decision);
      if (decision.action === 'give-up') {
        stopped = true;
        options.onGiveUp(
          `${options.name} crashed ${decision.crashes} times within ${policy.windowMs / 1000} s; ` +
            'stopping the stack (its last lines are above)',
        );
        return;
      }
      timer = setTimeout(() => {
        timer = undefined;
        if (!stopped) launch();
      }, decision.delayMs);
    });
  };
  launch();

  return {
    name: options.name,
    async stop(timeoutMs) {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current?.stop(timeoutMs);
      await rm(options.pidFile, { force: true });
    },
  };
}

async function writePid(file: string, pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${pid}\n`);
}

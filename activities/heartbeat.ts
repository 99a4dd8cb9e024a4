/**
 * Heartbeats an activity while `work` runs, so a step with no progress of its own to report (a SQL scan, a drift
 * window) is seen alive, and a worker killed during it is noticed within the proxy's heartbeatTimeout instead of
 * its whole startToCloseTimeout.
 */
import { Context } from '@temporalio/activity';

export async function whileBeating<T>(work: () => Promise<T>, everyMs = 2_000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

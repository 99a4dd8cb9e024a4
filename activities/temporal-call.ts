/**
 * Temporal client calls made from an activity end when the activity is cancelled. A worker that shuts down cancels
 * its running activities; an Update or a query that waits on a workflow task this worker no longer polls would
 * otherwise hold the shutdown until its RPC gives up.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // called outside an activity (a test, a CLI): nothing to follow
  }
}

export function withActivityCancel<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  const signal = activitySignal();
  return signal ? client.withAbortSignal(signal, fn) : fn();
}

/**
 * Create-or-update of a Temporal Schedule, shared by every schedule the project owns (batch, monitoring,
 * retraining): an existing schedule gets the new spec, action and policies and keeps its state (a paused schedule
 * stays paused across worker restarts); a missing one is created; when several workers start at once, the one that
 * loses the create updates instead.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';

export async function upsertSchedule(
  client: Client,
  options: ScheduleOptions,
): Promise<'created' | 'updated'> {
  const handle = client.schedule.getHandle(options.scheduleId);
  const update = async () => {
    await handle.update((prev) => ({
      spec: options.spec,
      action: options.action,
      ...(options.policies ? { policies: options.policies } : {}),
      state: { paused: prev.state.paused, note: prev.state.note },
    }));
    return 'updated' as const;
  };
  try {
    await handle.describe();
    return await update();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return update();
    throw err;
  }
}

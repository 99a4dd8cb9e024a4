/** Per-activity timings of one workflow run, read from its event history (scheduled -> started -> completed). */
import type { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time.js';

export interface StepTiming {
  count: number;
  /** Sum of started -> completed over every attempt that completed. */
  busyMs: number;
  /** First scheduled -> last completed. */
  spanMs: number;
}

export function activityTimings(history: temporal.api.history.v1.IHistory): Record<string, StepTiming> {
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  const out: Record<string, StepTiming & { first: number; last: number }> = {};
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
    } else if (e.activityTaskStartedEventAttributes) {
      started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    } else if (e.activityTaskCompletedEventAttributes) {
      const sid = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
      const s = scheduled.get(sid);
      if (!s) continue;
      const t = (out[s.type] ??= { count: 0, busyMs: 0, spanMs: 0, first: s.at, last: at });
      t.count++;
      t.busyMs += at - (started.get(sid) ?? s.at);
      t.first = Math.min(t.first, s.at);
      t.last = Math.max(t.last, at);
      t.spanMs = t.last - t.first;
    }
  }
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, { count: v.count, busyMs: v.busyMs, spanMs: v.spanMs }]),
  );
}

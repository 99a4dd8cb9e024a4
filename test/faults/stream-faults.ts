/**
 * A stream fed while faults hit, and what its consumers received: SSE subscribers (one per API process) and a
 * LISTENer of `stream_predictions`, compared by id with the persisted predictions, plus the scoring attempts
 * each prediction and dead letter records.
 */
import { getStreamState } from '../../control/streams.js';
import { checkIdDelivery, NotifyReader, settle, SseSubscriber, type DeliveryCheck } from './consumers.js';
import { streamOutcome } from './invariants.js';
import { timeToProgress, unplannedSince, until, type Ctx, type ScenarioResult } from './scenario-kit.js';
import { sleep } from './stack.js';

export function streamEvents(streamId: string, count: number, random: () => number) {
  return Array.from({ length: count }, (_, i) => ({
    event_id: `${streamId}-${i}`,
    ride_id: i,
    ride: {
      PULocationID: 1 + Math.floor(random() * 265),
      DOLocationID: 1 + Math.floor(random() * 265),
      // one in a hundred is poison: the scorer rejects a negative distance and the event goes to dead_letters
      trip_distance: i % 100 === 99 ? -1 : Math.round(random() * 150) / 10,
    },
  }));
}

export type StreamEvents = ReturnType<typeof streamEvents>;

/**
 * Scoring attempts per key, from `stream_predictions.attempts` and `dead_letters.attempts` (the activity attempt
 * that persisted the row). A row persisted past the retry policy's maximum means the policy did not bound the
 * retries; rows scored on a retry show how many events a fault sent round again (reported, not bounded).
 */
async function attemptsCheck(ctx: Ctx, streamId: string): Promise<DeliveryCheck> {
  const { rows } = await ctx.pool.query<{ max: number | null; retried: number; dead_max: number | null }>(
    `SELECT (SELECT max(attempts)::int FROM stream_predictions WHERE stream_id = $1) AS max,
            (SELECT count(*)::int FROM stream_predictions WHERE stream_id = $1 AND attempts > 1) AS retried,
            (SELECT max(attempts)::int FROM dead_letters WHERE stream_id = $1) AS dead_max`,
    [streamId],
  );
  const r = rows[0];
  const limit = ctx.config.stream.maxAttempts;
  const worst = Math.max(r?.max ?? 0, r?.dead_max ?? 0);
  return {
    channel: 'scoring attempts',
    ok: r !== undefined && worst >= 1 && worst <= limit,
    detail: `${r?.retried ?? 0} predictions persisted on a retry; at most ${worst} attempts per event (limit ${limit})`,
  };
}

async function persistedIds(ctx: Ctx, streamId: string): Promise<string[]> {
  const { rows } = await ctx.pool.query<{ id: string }>(
    'SELECT id::text AS id FROM stream_predictions WHERE stream_id = $1 ORDER BY id',
    [streamId],
  );
  return rows.map((r) => r.id);
}

/** Feeds a stream (through `send`) while faults hit, then waits until every accepted event was handled. */
export async function streamWithFaults(
  ctx: Ctx,
  name: string,
  send: (streamId: string, events: StreamEvents) => Promise<number>,
  fault: (i: number) => Promise<void>,
): Promise<ScenarioResult> {
  const streamId = `${name}-${Date.now()}`;
  const events = streamEvents(streamId, ctx.scale.streamEvents, ctx.random);
  const exitsBefore = ctx.stack.unplannedExits.length;
  // Consumers subscribe before the first event, as a dashboard would: one SSE feed per API process.
  const sse = ctx.stack.apiPorts.map(
    (_, i) =>
      new SseSubscriber(
        `${ctx.stack.apiUrl(i)}/streams/${streamId}/predictions`,
        ctx.config.api.apiKey ?? '',
      ),
  );
  const notify = await NotifyReader.open(ctx.pool, streamId);
  await until(() => Promise.resolve(sse.every((s) => s.connections > 0)), 10_000);
  let accepted = 0;
  let sending = true;
  const producer = (async () => {
    for (let i = 0; i < events.length; i += 50) {
      accepted += await send(streamId, events.slice(i, i + 50));
      await sleep(20);
    }
    sending = false;
  })();
  let lastHandled = 0;
  const handled = async () => {
    const s = await getStreamState(ctx.client, streamId);
    lastHandled = s.processed + s.failed;
    return lastHandled;
  };
  const allHandled = () => !sending && lastHandled >= accepted;
  let faults = 0;
  let recoverMs = 0;
  for (let i = 0; i < ctx.scale.faultsPerScenario; i++) {
    if (i === 0) await until(async () => (await handled().catch(() => 0)) > 0);
    else await sleep(400 + Math.floor(ctx.random() * 800));
    const before = await handled().catch(() => 0);
    ctx.log(`${name}: fault ${i + 1} at ${before} handled`);
    await fault(i);
    faults += 1;
    recoverMs = Math.max(recoverMs, await timeToProgress(handled, before, allHandled));
  }
  await producer;
  const deadline = Date.now() + 180_000;
  while ((await handled().catch(() => -1)) < accepted) {
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const outcome = await streamOutcome(
    ctx.pool,
    streamId,
    events.map((e) => e.event_id),
  );
  const persisted = await persistedIds(ctx, streamId);
  const last = persisted[persisted.length - 1];
  const reached = (received: readonly string[]) => last === undefined || received.includes(last);
  await settle(() => sse.every((s) => reached(s.received)) && reached(notify.received));
  await Promise.all(sse.map((s) => s.close()));
  await notify.close();
  const deliveries = [
    ...sse.map((s, i) => {
      const check = checkIdDelivery(`SSE via API ${i}`, s.received, persisted);
      return { ...check, detail: `${check.detail}; ${s.connections} connection(s)` };
    }),
    (() => {
      const check = checkIdDelivery('NOTIFY stream_predictions', notify.received, persisted);
      return { ...check, detail: `${notify.notifications} wake-ups; ${check.detail}` };
    })(),
    await attemptsCheck(ctx, streamId),
  ];
  const unplannedExits = unplannedSince(ctx, exitsBefore);
  return {
    scenario: name,
    faults,
    recoverMs,
    statusOk: !sending && accepted === events.length && unplannedExits.length === 0,
    notes: `${accepted} accepted`,
    unplannedExits,
    deliveries,
    ...outcome,
  };
}

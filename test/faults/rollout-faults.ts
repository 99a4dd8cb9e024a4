/**
 * A rollout under faults: while a progressive rollout runs and clients keep calling /predict on both API
 * processes, a worker is killed and Temporal is restarted. The rollout must resume at its step and finish; the
 * routing must answer from the mirror the whole time (never unknown); no prediction request may fail for it.
 */
import type { RolloutProgress, RoutingState } from '../../contracts/routing.js';
import type { DeliveryCheck } from './consumers.js';
import { unplannedSince, type Ctx, type ScenarioResult } from './scenario-kit.js';
import { sleep } from './stack.js';

const RIDE = {
  PULocationID: 43,
  DOLocationID: 151,
  trip_distance: 1.01,
  pickup_datetime: '2024-03-01T10:00:00',
};

export async function rolloutWithFaults(
  ctx: Ctx,
  faults: (i: number) => Promise<void>,
): Promise<ScenarioResult> {
  const exitsBefore = ctx.stack.unplannedExits.length;
  const auth = { authorization: `Bearer ${ctx.config.api.apiKey ?? ''}` };
  const api = (i: number) => ctx.stack.apiUrl(i % ctx.stack.apiPorts.length);
  const get = async <T>(path: string, i = 0): Promise<{ status: number; body: T | null }> => {
    const res = await fetch(`${api(i)}${path}`, { headers: auth }).catch(() => null);
    return { status: res?.status ?? 0, body: res?.ok ? ((await res.json()) as T) : null };
  };
  const D = '/deployments/ride-duration';
  const id = `faults-${Date.now().toString(36)}`;
  const started = await fetch(`${api(0)}${D}/rollouts`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      id,
      version: '1',
      steps: [20, 60, 100],
      step_seconds: 8,
      shadow: 20,
      gates: { max_error_rate: 0.01, min_samples: 5 },
      approval: 'auto',
      reason: 'fault suite',
    }),
  });
  if (started.status !== 201)
    throw new Error(`rollout did not start: ${started.status} ${await started.text()}`);

  // Traffic on both APIs for the whole scenario; every answer must be a 200.
  let driving = true;
  let calls = 0;
  const failures: string[] = [];
  // The mirror's routing as each API process reads it: known (a controller's revision, never 0) and never going back.
  const routingReads = { ok: 0, unknown: 0, backwards: 0 };
  const lastRevision = new Map<number, number>();
  const client = async (k: number) => {
    while (driving) {
      const res = await fetch(`${api(k)}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user': `u${k}-${calls}` },
        body: JSON.stringify(RIDE),
      }).catch((err: unknown) => ({ status: 0, text: () => Promise.resolve(String(err)) }));
      calls++;
      if (res.status !== 200) failures.push(`${res.status}: ${(await res.text()).slice(0, 200)}`);
      const routing = await get<RoutingState>(`${D}/routing`, k);
      const revision = routing.body?.revision ?? 0;
      // `changedBy: 'none'` is the API's stand-in when no controller ever published: an unknown routing.
      if (routing.status === 200 && routing.body?.champion && routing.body.changedBy !== 'none')
        routingReads.ok++;
      else routingReads.unknown++;
      if (revision < (lastRevision.get(k) ?? 0)) routingReads.backwards++;
      lastRevision.set(k, Math.max(revision, lastRevision.get(k) ?? 0));
      await sleep(20);
    }
  };
  const clients = [0, 1, 2, 3].map(client);

  const progress = () => get<RolloutProgress>(`${D}/rollouts/${id}`).then((r) => r.body);
  const at = async (step: number) => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const p = await progress();
      if (p && p.step >= step && p.steps.length > step) return p;
      await sleep(100);
    }
    throw new Error(`rollout ${id} did not reach step ${step + 1} within 60 s`);
  };
  let injected = 0;
  const steps: number[] = [];
  try {
    await at(0);
    for (let i = 0; i < ctx.scale.faultsPerScenario; i++) {
      const before = await progress();
      steps.push(before?.step ?? -1);
      await faults(i);
      injected++;
      ctx.log(`rollout fault ${i} at step ${before?.step ?? '?'}`);
    }
    const faultsEnded = Date.now();
    const stepAfterFaults = (await progress())?.steps.length ?? 0;
    let recoverMs: number | null = null;
    const deadline = Date.now() + 180_000;
    let last: RolloutProgress | null = null;
    while (Date.now() < deadline) {
      last = await progress();
      const ended = last !== null && !['running', 'paused', 'awaiting_approval'].includes(last.status);
      if (recoverMs === null && last && (last.steps.length > stepAfterFaults || ended))
        recoverMs = Date.now() - faultsEnded;
      if (ended) break;
      await sleep(250);
    }
    driving = false;
    await Promise.all(clients);
    const routing = (await get<RoutingState>(`${D}/routing`)).body;
    // Each step is one Update with a stable id: a retried activity or a replayed workflow must not apply it twice.
    const { rows: applied } = await ctx.pool.query<{ reason: string; n: string }>(
      'SELECT reason, count(*) AS n FROM routing_history WHERE actor = $1 GROUP BY reason',
      [`rollout:${id}`],
    );
    const twice = applied.reduce((sum, r) => sum + Number(r.n) - 1, 0);
    const final = last;
    const unplannedExits = unplannedSince(ctx, exitsBefore);
    const checks: DeliveryCheck[] = [
      {
        channel: 'prediction requests',
        ok: failures.length === 0 && calls > 0,
        detail: `${calls} calls, ${failures.length} failed${failures[0] ? ` (first: ${failures[0]})` : ''}`,
      },
      {
        channel: 'routing reads (mirror)',
        ok: routingReads.unknown === 0 && routingReads.backwards === 0 && routingReads.ok > 0,
        detail: `${routingReads.ok} answered with a champion a controller published, ${routingReads.unknown} unknown, ${routingReads.backwards} went back`,
      },
      {
        channel: 'rollout steps',
        ok: JSON.stringify(final?.steps.map((s) => s.canary)) === '[20,60,100]',
        detail: `steps ${JSON.stringify(final?.steps.map((s) => s.canary))}, faults at steps ${steps.join(', ')}`,
      },
    ];
    // Back to the champion the other scenarios expect.
    await fetch(`${api(0)}${D}/routing`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ champion: '2', reason: 'fault suite: restore' }),
    });
    return {
      scenario: 'rollout-worker-temporal',
      faults: injected,
      recoverMs: recoverMs ?? -1,
      statusOk: final?.status === 'succeeded' && routing?.champion === '1' && unplannedExits.length === 0,
      notes: `rollout ${final?.status ?? 'unknown'}: ${final?.outcome ?? ''}; champion after ${routing?.champion ?? '?'}`,
      unplannedExits,
      deliveries: checks,
      expected: 3,
      done: final?.steps.filter((s) => s.endedAt !== null && s.failures.length === 0).length ?? 0,
      lost: failures.length,
      duplicated: twice,
      detail: `${final?.steps.length ?? 0} steps`,
    };
  } finally {
    driving = false;
    await Promise.all(clients);
  }
}

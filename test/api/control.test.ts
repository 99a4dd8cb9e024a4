/** Control over HTTP on the real app, Temporal server and worker: auth, batch runs, schedules, streams, aliases. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDailySchedule } from '../../control/schedules.js';
import {
  createTestApp,
  startTestWorker,
  TEST_API_KEY,
  uniqueId,
  waitFor,
  type TestApp,
  type TestWorker,
} from '../helpers.js';

const auth = { authorization: `Bearer ${TEST_API_KEY}` };
const jsonHeaders = { 'content-type': 'application/json', ...auth };

describe('control routes', () => {
  let t: TestApp;
  let worker: TestWorker;
  const taskQueue = uniqueId('tq');
  const send = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = jsonHeaders,
  ) =>
    t.app.request(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  beforeAll(async () => {
    t = await createTestApp({ taskQueue });
    worker = await startTestWorker({ pool: t.db.pool, scorer: t.scorer, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  it('requires the bearer key (401) and is disabled without API_KEY (503), never open', async () => {
    const none = await t.app.request('/batch-runs/x');
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'Missing or invalid API key (send Authorization: Bearer <API_KEY>)',
    });
    const wrong = await send(
      'POST',
      '/models/ride-duration/aliases/production',
      { version: '1' },
      {
        'content-type': 'application/json',
        authorization: 'Bearer not-the-key-0000000000',
      },
    );
    expect(wrong.status).toBe(401);
    for (const path of ['/schedules', '/schedules/x/pause']) {
      expect((await t.app.request(path, { method: path.endsWith('pause') ? 'POST' : 'GET' })).status).toBe(
        401,
      );
    }
    expect(
      (await send('POST', '/streams/s1/events', {}, { 'content-type': 'application/json' })).status,
    ).toBe(401);
    for (const path of ['/models', '/streams/s1', '/streams/s1/predictions', '/batch-runs/x']) {
      expect((await t.app.request(path)).status, path).toBe(401);
    }

    const off = await createTestApp({ env: { API_KEY: '' } });
    try {
      const res = await off.app.request('/batch-runs', { method: 'POST', headers: jsonHeaders, body: '{}' });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        type: 'about:blank',
        title: 'Disabled',
        status: 503,
        detail: 'This endpoint is disabled: set API_KEY to enable control endpoints',
      });
    } finally {
      await off.close();
    }
  });

  it('starts a batch run (202), returns the same run for the same Idempotency-Key, reads and cancels it', async () => {
    const key = uniqueId('key');
    const body = {
      from: '2021-02-01T00:00:00',
      to: '2021-02-02T00:00:00',
      model: 'ride-duration@production',
    };
    const first = await send('POST', '/batch-runs', body, { ...jsonHeaders, 'idempotency-key': key });
    expect(first.status).toBe(202);
    const started = (await first.json()) as { workflowId: string; runId: string; webUiUrl: string };
    expect(started).toEqual({
      workflowId: `batch-${key}`,
      runId: expect.any(String) as unknown,
      webUiUrl: expect.stringContaining(`/workflows/batch-${key}/`) as unknown,
      created: true,
    });
    const again = await send('POST', '/batch-runs', body, { ...jsonHeaders, 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ...started, created: false });

    const bad = await send('POST', '/batch-runs', { from: 'yesterday', to: '2021-02-02T00:00:00' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      errors: [
        { field: 'from', message: 'must be an ISO timestamp, e.g. 2021-02-01T00:00:00 (got "yesterday")' },
      ],
    });

    const view = await send('GET', `/batch-runs/${started.workflowId}`, undefined, auth);
    expect(view.status).toBe(200);
    expect(await view.json()).toMatchObject({ workflowId: started.workflowId, runId: started.runId });
    const cancel = await send('POST', `/batch-runs/${started.workflowId}/cancel`, undefined, auth);
    expect(cancel.status).toBe(202);
    expect(await cancel.json()).toEqual({ workflowId: started.workflowId, cancelRequested: true });
    const missing = await send('GET', '/batch-runs/batch-nope', undefined, auth);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ detail: 'batch run batch-nope not found' });
  });

  it('lists, pauses, unpauses, triggers and backfills a schedule', async () => {
    const scheduleId = uniqueId('sched');
    await ensureDailySchedule(t.temporal.client, t.deps.config, { scheduleId, taskQueue });
    // Temporal lists schedules from its visibility store, which can lag a moment behind their creation.
    const listed = async () =>
      (
        (await (await send('GET', '/schedules', undefined, auth)).json()) as {
          schedules: { scheduleId: string }[];
        }
      ).schedules.map((s) => s.scheduleId);
    await waitFor(async () => (await listed()).includes(scheduleId), {
      timeoutMs: 10_000,
      what: 'the new schedule in GET /schedules',
    });
    for (const action of ['pause', 'unpause', 'trigger'] as const) {
      const res = await send('POST', `/schedules/${scheduleId}/${action}`, { note: 'test' });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({
        scheduleId,
        action: { pause: 'paused', unpause: 'unpaused', trigger: 'triggered' }[action],
      });
    }
    const backfill = await send('POST', `/schedules/${scheduleId}/backfill`, {
      from: '2021-02-01',
      to: '2021-02-03',
    });
    expect(backfill.status).toBe(202);
    expect(await backfill.json()).toMatchObject({ scheduleId, partitions: 2 });
    const backwards = await send('POST', `/schedules/${scheduleId}/backfill`, {
      from: '2021-02-03',
      to: '2021-02-01',
    });
    expect(await backwards.json()).toMatchObject({
      status: 400,
      errors: [{ field: 'to', message: 'must be after from' }],
    });
    const unknown = await send('POST', '/schedules/no-such-schedule/pause', {});
    expect(unknown.status).toBe(404);
    await t.temporal.client.schedule.getHandle(scheduleId).delete();
  });

  it('accepts stream events (202), reports state, streams predictions as SSE', async () => {
    const streamId = uniqueId('s');
    const events = [
      { ride: { PULocationID: 10, DOLocationID: 50, trip_distance: 40 }, ride_id: 1 },
      { ride: { PULocationID: 1, DOLocationID: 2, trip_distance: 3 }, ride_id: 2 },
      { ride: { PULocationID: 1, DOLocationID: 2, trip_distance: 3 }, ride_id: 2 },
    ];
    const res = await send('POST', `/streams/${streamId}/events`, events);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      streamId,
      workflowId: `stream-${streamId}`,
      accepted: 2,
      duplicates: 1,
      rejected: [],
    });
    const invalid = await send('POST', `/streams/${streamId}/events`, { ride_id: 3 });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ errors: [{ field: 'ride', message: 'must be an object' }] });

    const controller = new AbortController();
    const sse = await t.app.request(`/streams/${streamId}/predictions`, {
      signal: controller.signal,
      headers: auth,
    });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = sse.body?.getReader();
    let text = '';
    while (reader && (text.match(/event: prediction/g) ?? []).length < 2) {
      const { value, done } = (await reader.read()) as { value?: Uint8Array; done: boolean };
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    await reader?.cancel().catch(() => undefined);
    expect(text).toMatch(
      /^event: prediction\ndata: \{"model":"ride-duration","version":"2","prediction":\{"ride_id":1,"ride_duration":[\d.]+\}\}\nid: (\d+)\n/,
    );
    const firstId = /id: (\d+)/.exec(text)?.[1] ?? '';
    const resumed = new AbortController();
    const again = await t.app.request(`/streams/${streamId}/predictions`, {
      signal: resumed.signal,
      headers: { ...auth, 'last-event-id': firstId },
    });
    const againReader = again.body?.getReader();
    const chunk = (await againReader?.read()) as { value?: Uint8Array; done: boolean } | undefined;
    resumed.abort();
    await againReader?.cancel().catch(() => undefined);
    expect(new TextDecoder().decode(chunk?.value)).toContain('"ride_id":2');

    const state = await t.app.request(`/streams/${streamId}`, { headers: auth });
    expect(state.status).toBe(200);
    expect(await state.json()).toMatchObject({ streamId, model: 'ride-duration@2' });
    const none = await t.app.request('/streams/never-started', { headers: auth });
    expect(none.status).toBe(404);
    const replay = await send('POST', `/streams/${streamId}/dead-letters/nope/replay`, {});
    expect(replay.status).toBe(409);
  });

  it('bounds concurrent prediction streams (503 with Retry-After above SSE_MAX_CONNECTIONS)', async () => {
    const small = await createTestApp({ env: { SSE_MAX_CONNECTIONS: '1' } });
    try {
      const first = await small.app.request('/streams/bound/predictions', { headers: auth });
      expect(first.status).toBe(200);
      const second = await small.app.request('/streams/bound/predictions', { headers: auth });
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('5');
      expect(await second.json()).toEqual({
        type: 'about:blank',
        title: 'Service unavailable',
        status: 503,
        detail: '1 prediction streams are open (limit 1); retry later',
      });
      await first.body?.cancel();
    } finally {
      await small.close();
    }
  });

  it('moves an alias with zero downtime and lists models', async () => {
    const res = await send('POST', '/models/ride-duration/aliases/canary', { version: '1' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: 'ride-duration',
      alias: 'canary',
      version: '1',
      previous: null,
    });
    // Traffic on the alias while it flips 1 -> 2 -> 1: every request is timed, and so is every flip call.
    type Answer = { start: number; end: number; status: number; version: string | undefined };
    const answers: Answer[] = [];
    let flipping = true;
    const client = async () => {
      while (flipping) {
        const start = performance.now();
        const r = await send('POST', '/predict?model=ride-duration@canary', {
          PULocationID: 10,
          DOLocationID: 50,
          trip_distance: 40,
        });
        const body = (await r.json()) as { model_version?: string };
        answers.push({ start, end: performance.now(), status: r.status, version: body.model_version });
      }
    };
    const clients = Array.from({ length: 8 }, client);
    const flips: { start: number; end: number; version: string }[] = [];
    try {
      for (const version of ['2', '1']) {
        const before = answers.length;
        await waitFor(() => answers.length >= before + 20, {
          timeoutMs: 10_000,
          what: 'traffic before a flip',
        });
        const start = performance.now();
        const flipped = await send('POST', '/models/ride-duration/aliases/canary', { version });
        flips.push({ start, end: performance.now(), version });
        expect(flipped.status).toBe(200);
      }
      const after = answers.length;
      await waitFor(() => answers.length >= after + 20, {
        timeoutMs: 10_000,
        what: 'traffic after the flips',
      });
    } finally {
      flipping = false;
      await Promise.all(clients);
    }
    // Zero downtime: no request failed while the alias moved (catches a flip that unloads or blocks a version).
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    // The flips happened under load: requests were in flight during each flip call (catches a test that only
    // flips an idle service), and both versions answered (catches a flip that never took effect).
    for (const flip of flips)
      expect(
        answers.filter((a) => a.start < flip.end && a.end > flip.start).length,
        `during flip to ${flip.version}`,
      ).toBeGreaterThan(0);
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set(['1', '2']));
    // Once a flip call has answered, every request that starts later sees the new version (no stale cache).
    const last = flips[flips.length - 1];
    expect(answers.filter((a) => last && a.start > last.end && a.version !== '1')).toEqual([]);
    const bad = await send('POST', '/models/ride-duration/aliases/canary', { version: '9' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      detail: 'Cannot set ride-duration@canary: version "9" is not loaded (loaded: 1, 2)',
    });
    const models = (await (await t.app.request('/models', { headers: auth })).json()) as {
      models: { ref: string; aliases: string[] }[];
    };
    expect(models.models.map((m) => [m.ref, m.aliases])).toEqual([
      ['penguin-species@1', []],
      ['ride-duration@1', ['canary', 'staging']],
      ['ride-duration@2', ['production']],
    ]);
  });
});

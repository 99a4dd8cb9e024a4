/**
 * Rollouts over real Temporal, Postgres and ONNX Runtime: routing changes through the controller's Updates (and
 * their refusals), canary and shadow traffic online and in a stream (exact by sticky key), the history at a past
 * time, and progressive rollouts: a good version promoted, a constant challenger rolled back by its gate, manual
 * approval and rejection, overlapping rollouts refused.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { createAfterResponse } from '../../api/after-response.js';
import { createPredictionLog } from '../../api/prediction-log.js';
import { ensureControllers } from '../../control/controllers.js';
import { loadDeployments } from '../../platform/deployments.js';
import { bucketOf, type RolloutProgress, type RoutingState } from '../../contracts/routing.js';
import { ROLLOUT_STATUS_KEY, ROLLOUT_STEP_KEY } from '../../contracts/temporal.js';
import { runRolloutsCli } from '../../cli/rollouts.js';
import { changeRouting, RoutingRefusedError } from '../../control/routing.js';
import { sendEvents } from '../../control/streams.js';
import { sendWithKey, TEST_API_KEY, TEST_DEPLOYMENT_DIR } from '../helpers.js';
import { uniqueId, waitFor } from '../helpers.js';
import { makeEvents } from '../stream-kit.js';
import { RIDE, startRolloutFixture, type RolloutFixture } from './fixture.js';

let f: RolloutFixture;
beforeAll(async () => {
  f = await startRolloutFixture();
});
afterAll(() => f?.close());

const D = '/deployments/ride-duration';
const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
const route = async (body: unknown): Promise<RoutingState> => {
  const res = await f.send('POST', `${D}/routing`, body);
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
  return json<RoutingState>(res);
};
const predict = (key: string, requestId = uniqueId('r')) =>
  f.send('POST', '/predict', RIDE, { 'x-user': key, 'x-request-id': requestId });
const versionOf = async (res: Response) => (await json<{ model_version: string }>(res)).model_version;
const fieldsOf = async (res: Response) =>
  (await json<{ errors: { field: string }[] }>(res)).errors.map((e) => e.field);

/** Keeps calling /predict (random keys) until `done`; returns how many calls were answered, all 200. */
async function drive(done: () => Promise<boolean>): Promise<number> {
  let calls = 0;
  while (!(await done())) {
    const answers = await Promise.all(Array.from({ length: 8 }, () => predict(uniqueId('k'))));
    for (const a of answers) expect(a.status).toBe(200);
    calls += answers.length;
  }
  return calls;
}
const progressOf = async (id: string) => json<RolloutProgress>(await f.send('GET', `${D}/rollouts/${id}`));
const ended = (id: string) => async () =>
  ['succeeded', 'rolled_back', 'rejected', 'aborted', 'refused', 'failed'].includes(
    (await progressOf(id)).status,
  );

describe('routing changes', () => {
  it('starts at production with no challenger, and refuses bad changes naming the field', async () => {
    const start = await json<RoutingState>(await f.send('GET', `${D}/routing`));
    expect(start).toMatchObject({ champion: '2', challenger: null, canary: 0, revision: 0 });
    // No challenger: the answer carries no role.
    const plain = await predict('someone');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-model-role')).toBeNull();

    const over = await f.send('POST', `${D}/routing`, { challenger: '1', canary: 130 });
    expect(over.status).toBe(400);
    expect(await fieldsOf(over)).toEqual(['canary']);
    const unknown = await f.send('POST', `${D}/routing`, { challenger: '9' });
    expect(unknown.status).toBe(400);
    expect(await fieldsOf(unknown)).toEqual(['challenger']);
    const alone = await f.send('POST', `${D}/routing`, { canary: 10 });
    expect(alone.status).toBe(400);
    expect(await fieldsOf(alone)).toEqual(['challenger']);
    const extra = await f.send('POST', `${D}/routing`, { canary: 10, weight: 3 });
    expect(extra.status).toBe(400);
  });

  it('canary: the challenger answers its share of calls, exactly the sticky keys in it, and logs them', async () => {
    const state = await route({
      challenger: '1',
      canary: 30,
      sticky: { header: 'x-user' },
      reason: 'try v1',
    });
    expect(state).toMatchObject({ champion: '2', challenger: '1', canary: 30, rollout: null });
    expect(state.changedBy).toMatch(/^api-key:[0-9a-f]{8}$/);
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const callsBefore = f.threadCalls.get('ride-duration@1') ?? 0;
    const recordsBefore = f.threadRecords.get('ride-duration@1') ?? 0;
    const answers = await Promise.all(keys.map((k) => predict(k)));
    const versions = await Promise.all(answers.map(versionOf));
    const expected = keys.map((k) => (bucketOf(k, 'canary') < 30 ? '1' : '2'));
    expect(versions).toEqual(expected);
    // Each answer names the role that gave it, as JSON like any other answer.
    expect(answers.map((a) => a.headers.get('x-model-role'))).toEqual(
      expected.map((v) => (v === '1' ? 'canary' : 'champion')),
    );
    for (const a of answers) expect(a.headers.get('content-type')).toMatch(/^application\/json/);
    const onCanary = expected.filter((v) => v === '1').length;
    // The challenger's calls were scored in the scoring thread, the champion's never; calls that came close
    // together were held and sent as one (CANARY_HOLD_MS).
    expect((f.threadRecords.get('ride-duration@1') ?? 0) - recordsBefore).toBe(onCanary);
    expect((f.threadCalls.get('ride-duration@1') ?? 0) - callsBefore).toBeLessThan(onCanary);
    expect(f.threadCalls.get('ride-duration@2')).toBeUndefined();
    expect(onCanary).toBeGreaterThan(200 * 0.3 - 4 * Math.sqrt(200 * 0.21));
    expect(onCanary).toBeLessThan(200 * 0.3 + 4 * Math.sqrt(200 * 0.21));
    // Sticky: the same key meets the same version again.
    for (const k of keys.slice(0, 10))
      expect(await versionOf(await predict(k))).toBe(expected[keys.indexOf(k)]);

    await f.log.flush();
    const { rows } = await f.db.pool.query<{ role: string; version: string; n: string }>(
      `SELECT role, version, count(*) AS n FROM online_predictions WHERE deployment = 'ride-duration'
        GROUP BY role, version ORDER BY role`,
    );
    const again = expected.slice(0, 10).filter((v) => v === '1').length;
    // PREDICTION_LOG is off here: the challenger's calls are logged (the gates read them), the champion's are not.
    expect(rows.map((r) => [r.role, r.version, Number(r.n)])).toEqual([['canary', '1', onCanary + again]]);
  });

  it('the controller’s Update validator refuses a version its registry does not hold, before anything is recorded', async () => {
    const handle = f.temporal.client.workflow.getHandle(`${f.worker.taskQueue}/routing-ride-duration`);
    const before = (await handle.describe()).historyLength;
    const refused = await changeRouting(f.temporal.client, f.worker.taskQueue, 'ride-duration', {
      challenger: '9',
      actor: 'test',
    }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RoutingRefusedError);
    expect((refused as RoutingRefusedError).problems).toEqual([
      { field: 'challenger', message: 'version 9 of ride-duration is not loaded (loaded: 1, 2, 3)' },
    ]);
    // A validator's refusal leaves no event in the workflow's history (a handler's would).
    expect((await handle.describe()).historyLength).toBe(before);
  });

  it('canary without a sticky key, a draw per call (ROUTING_DRAW=call, or batching off): a random share within statistical bounds, bursts mixed', async () => {
    await route({ challenger: '1', canary: 30, sticky: null });
    const { config } = f.deps;
    const perCall = createApp({
      ...f.deps,
      config: { ...config, api: { ...config.api, routingDraw: 'call' } },
    });
    const unbatched = createApp({
      ...f.deps,
      config: { ...config, batching: { ...config.batching, enabled: false } },
    });
    const burst = (app: typeof perCall, n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => versionOf(await sendWithKey(app, 'POST', '/predict', RIDE))),
      );
    const versions = await burst(perCall, 300);
    const n = versions.filter((v) => v === '1').length;
    const sd = Math.sqrt(300 * 0.3 * 0.7);
    expect(n).toBeGreaterThan(90 - 4 * sd);
    expect(n).toBeLessThan(90 + 4 * sd);
    // Calls sent together meet both versions (a shared draw would give each burst one version).
    for (const app of [perCall, unbatched]) {
      const bursts: string[][] = [];
      for (let b = 0; b < 5; b++) bursts.push(await burst(app, 20));
      expect(bursts.filter((b) => new Set(b).size === 2).length).toBeGreaterThan(0);
    }
  });

  it('canary without a sticky key, a draw per turn (the default): calls one at a time within statistical bounds, a burst to one version', async () => {
    await route({ challenger: '1', canary: 30, sticky: null });
    const one: string[] = [];
    for (let i = 0; i < 300; i++) one.push(await versionOf(await predict('same')));
    const n = one.filter((v) => v === '1').length;
    const sd = Math.sqrt(300 * 0.3 * 0.7);
    expect(n).toBeGreaterThan(90 - 4 * sd);
    expect(n).toBeLessThan(90 + 4 * sd);
    // Twenty calls sent together are routed in one turn: each burst meets one version, and both versions answer.
    const bursts: string[][] = [];
    for (let b = 0; b < 30; b++)
      bursts.push(
        await Promise.all(Array.from({ length: 20 }, async () => versionOf(await predict('same')))),
      );
    for (const versions of bursts) expect(new Set(versions).size, versions.join(' ')).toBe(1);
    expect(new Set(bursts.map((v) => v[0])).size).toBe(2);
  });

  it('shadow: exactly the shadow share is scored again by the challenger, with the champion’s answer and the distance', async () => {
    await route({ canary: 0, shadow: 40, sticky: { header: 'x-user' } });
    const keys = Array.from({ length: 100 }, (_, i) => `shadow-${i}`);
    const answers = await Promise.all(keys.map(async (k) => predict(k, `req-${k}`)));
    for (const a of answers) expect(await versionOf(a)).toBe('2'); // the champion answers every call
    const want = keys.filter((k) => bucketOf(k, 'shadow') < 40);
    const count = async () => {
      await f.log.flush();
      const { rows } = await f.db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM online_predictions WHERE role = 'shadow' AND request_id LIKE 'req-shadow-%'",
      );
      return Number(rows[0]?.n);
    };
    await waitFor(async () => (await count()) >= want.length, { timeoutMs: 10_000, what: 'the shadow rows' });
    const { rows } = await f.db.pool.query<{
      request_id: string;
      version: string;
      prediction: number;
      champion: number;
      diff: number;
    }>(
      `SELECT request_id, version, prediction, (champion_output ->> 'duration')::float8 AS champion, diff
         FROM online_predictions WHERE role = 'shadow' AND request_id LIKE 'req-shadow-%' ORDER BY request_id`,
    );
    expect(rows.map((r) => r.request_id).sort()).toEqual(want.map((k) => `req-${k}`).sort());
    for (const r of rows) {
      expect(r.version).toBe('1');
      expect(r.diff).toBeCloseTo(Math.abs(r.prediction - r.champion), 4);
    }
  });

  it('a slow challenger in shadow does not hold the champion’s answers', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { createApp } = await import('../../api/app.js');
    const slow = createApp(f.deps, {
      shadowScore: async (model, records) => {
        await gate; // the challenger answers only when the test lets it
        return f.deps.scorer.score(model, records);
      },
    });
    await route({ shadow: 100 });
    const call = (i: number) =>
      slow.request('/predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `slow-${i}` },
        body: JSON.stringify(RIDE),
      });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => Promise.resolve(call(i))));
    for (const a of answers) expect(a.status).toBe(200);
    await f.log.flush();
    const shadowRows = async () =>
      Number(
        (
          await f.db.pool.query<{ n: string }>(
            "SELECT count(*) AS n FROM online_predictions WHERE role = 'shadow' AND request_id LIKE 'slow-%'",
          )
        ).rows[0]?.n,
      );
    expect(await shadowRows()).toBe(0); // every answer came back while the challenger still held its calls
    release();
    await waitFor(
      async () => {
        await f.log.flush();
        return (await shadowRows()) === 20;
      },
      { timeoutMs: 10_000, what: 'the released shadow calls' },
    );
    await route({ challenger: null, sticky: null, reason: 'done comparing' });
  });

  it('on shutdown the server waits for shadow calls still held, then closes the log: none is dropped', async () => {
    const { createApp } = await import('../../api/app.js');
    const afterResponse = createAfterResponse();
    const log = createPredictionLog({ pool: f.db.pool, flushIntervalMs: 20 });
    const app = createApp({ ...f.deps, predictionLog: log, afterResponse });
    await route({ challenger: '1', canary: 0, shadow: 100, sticky: null, reason: 'shutdown check' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        Promise.resolve(
          app.request('/predict', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': `stop-${i}` },
            body: JSON.stringify(RIDE),
          }),
        ),
      ),
    );
    for (const a of answers) expect(a.status).toBe(200);
    // Every caller has its answer while the shadow calls are still held to be scored together.
    expect(afterResponse.running()).toBe(20);
    expect(await afterResponse.settle(5_000)).toBe(0);
    await log.close();
    expect({ written: log.written(), dropped: log.dropped() }).toEqual({ written: 20, dropped: 0 });
    const { rows } = await f.db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM online_predictions WHERE role = 'shadow' AND request_id LIKE 'stop-%'",
    );
    expect(Number(rows[0]?.n)).toBe(20);
    await route({ challenger: null, reason: 'done' });
  });

  it('the history answers which versions served at a past time, and who changed them', async () => {
    const { changes } = await json<{
      changes: { revision: number; changedAt: string; actor: string; state: RoutingState }[];
    }>(await f.send('GET', `${D}/history`));
    expect(changes[0]).toMatchObject({
      revision: 0,
      actor: 'controller',
      state: { champion: '2', challenger: null },
    });
    expect(changes.map((c) => c.revision)).toEqual(changes.map((_, i) => i));
    const second = changes[1];
    if (!second) throw new Error('no second change');
    const later = new Date(Date.parse(second.changedAt) + 1).toISOString();
    const at = await json<{ changes: { revision: number; state: RoutingState }[] }>(
      await f.send('GET', `${D}/history?at=${encodeURIComponent(later)}`),
    );
    expect(at.changes).toEqual([expect.objectContaining({ revision: second.revision, state: second.state })]);
    expect(second.state).toMatchObject({ challenger: '1', canary: 30 });
    const before = await json<{ changes: unknown[] }>(
      await f.send('GET', `${D}/history?at=2000-01-01T00:00:00Z`),
    );
    expect(before.changes).toEqual([]);
    const bad = await f.send('GET', `${D}/history?at=yesterday`);
    expect(bad.status).toBe(400);
    expect(await fieldsOf(bad)).toEqual(['query.at']);
  });
});

describe('the CLI', () => {
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRolloutsCli(argv, 'http://api.test', TEST_API_KEY, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      fetch: (url, init) => Promise.resolve(f.app.request(url.replace('http://api.test', ''), init)),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('changes the routing as its user, prints refusals naming the field, and exits 1 on them', async () => {
    const refused = await cli('route', '--challenger', '1', '--canary', '130');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/HTTP 400/);
    expect(refused.err).toMatch(/"field": "canary"/);
    const set = await cli(
      'route',
      ...['--challenger', '1', '--shadow', '5', '--sticky-header', 'x-user', '--reason', 'from the cli'],
    );
    expect(set.code).toBe(0);
    const state = JSON.parse(set.out) as RoutingState;
    expect(state).toMatchObject({
      challenger: '1',
      shadow: 5,
      sticky: { header: 'x-user' },
      reason: 'from the cli',
    });
    expect(state.changedBy).toMatch(/^api-key:[0-9a-f]{8} \(cli:.+\)$/);
    // --clear: the champion alone again, the sticky key too (a later challenger would otherwise inherit it).
    const cleared = await cli('route', '--clear', '--reason', 'done');
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.out)).toMatchObject({
      challenger: null,
      canary: 0,
      shadow: 0,
      sticky: null,
      reason: 'done',
    });
    expect((await cli('nonsense')).code).toBe(2);
  });
});

describe('streams follow the routing', () => {
  it('canary by event key, shadow scored beside the answer, every event persisted once', async () => {
    await route({ challenger: '1', canary: 30, shadow: 50 });
    const streamId = uniqueId('routed');
    const events = makeEvents(120, { prefix: 'ride-' });
    await sendEvents(f.temporal.client, f.deps.config, streamId, events);
    await waitFor(
      async () =>
        Number(
          (
            await f.db.pool.query<{ n: string }>(
              'SELECT count(*) AS n FROM stream_predictions WHERE stream_id = $1',
              [streamId],
            )
          ).rows[0]?.n,
        ) === 120,
      { timeoutMs: 30_000, what: 'the 120 stream predictions' },
    );
    const { rows } = await f.db.pool.query<{ record_key: string; version: string; role: string }>(
      'SELECT record_key, version, role FROM stream_predictions WHERE stream_id = $1',
      [streamId],
    );
    for (const r of rows) {
      const canary = bucketOf(r.record_key, 'canary') < 30;
      expect([r.version, r.role]).toEqual(canary ? ['1', 'canary'] : ['2', 'champion']);
    }
    const { rows: shadows } = await f.db.pool.query<{
      record_key: string;
      version: string;
      diff: number;
      gap: number;
    }>(
      `SELECT p.record_key, s.version, s.diff, abs((s.primary_value)::text::float8 - (p.primary_value)::text::float8) AS gap
         FROM stream_shadow_predictions s JOIN stream_predictions p USING (stream_id, event_id)
        WHERE s.stream_id = $1`,
      [streamId],
    );
    const want = events
      .map((e) => String(e.ride_id))
      .filter((k) => bucketOf(k, 'canary') >= 30 && bucketOf(k, 'shadow') < 50);
    expect(want.length).toBeGreaterThan(20);
    expect(shadows.map((s) => s.record_key).sort()).toEqual(want.sort());
    for (const s of shadows) {
      expect(s.version).toBe('1');
      expect(s.diff).toBeCloseTo(s.gap, 4);
    }
    await route({ challenger: null });
  });
});

describe('progressive rollouts', () => {
  it('a good version reaches 100 % step by step and becomes the champion; production follows', async () => {
    const res = await f.send('POST', `${D}/rollouts`, {
      id: 'good-v1',
      version: '1',
      steps: [50, 100],
      step_seconds: 2,
      shadow: 50,
      gates: { max_error_rate: 0.01, max_mean_diff: 20, min_samples: 3 },
      approval: 'auto',
    });
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
    await drive(ended('good-v1'));
    const done = await progressOf('good-v1');
    expect(done.status).toBe('succeeded');
    expect(done.steps.map((s) => s.canary)).toEqual([50, 100]);
    for (const s of done.steps) {
      expect(s.failures).toEqual([]);
      expect(s.figures?.samples).toBeGreaterThanOrEqual(3);
    }
    expect(done.steps[0]?.figures?.pairs).toBeGreaterThan(0);
    const routing = await json<RoutingState>(await f.send('GET', `${D}/routing`));
    expect(routing).toMatchObject({ champion: '1', challenger: null, canary: 0, rollout: null });
    await waitFor(() => f.deps.scorer.aliasStore.get('ride-duration', 'production') === '1', {
      timeoutMs: 5000,
      what: 'production to follow the champion',
    });
    expect(await versionOf(await predict('anyone'))).toBe('1');
    // The Temporal Web UI shows where it ended through the search attributes.
    const described = await f.temporal.client.workflow
      .getHandle(`${f.worker.taskQueue}/rollout-ride-duration-good-v1`)
      .describe();
    expect(described.typedSearchAttributes.get(ROLLOUT_STATUS_KEY)).toBe('succeeded');
    expect(described.typedSearchAttributes.get(ROLLOUT_STEP_KEY)).toBe('2/2:100%');
  });

  it('a constant challenger fails its gate and is rolled back at once, the gate and its figures recorded', async () => {
    const res = await f.send('POST', `${D}/rollouts`, {
      id: 'constant-v3',
      version: '3',
      steps: [10, 50, 100],
      step_seconds: 2,
      shadow: 100,
      gates: { max_mean_diff: 5, min_samples: 3 },
      approval: 'auto',
    });
    expect(res.status).toBe(201);
    await drive(ended('constant-v3'));
    const done = await progressOf('constant-v3');
    expect(done.status).toBe('rolled_back');
    expect(done.steps).toHaveLength(1);
    expect(done.steps[0]?.failures.map((x) => x.gate)).toEqual(['max_mean_diff']);
    expect(done.steps[0]?.failures[0]?.actual).toBeGreaterThan(5);
    expect(done.outcome).toMatch(/max_mean_diff/);
    const routing = await json<RoutingState>(await f.send('GET', `${D}/routing`));
    expect(routing).toMatchObject({ champion: '1', challenger: null, canary: 0, rollout: null });
  });

  it('a challenger far from the late labels is rolled back by the label gate, with its error recorded', async () => {
    const res = await f.send('POST', `${D}/rollouts`, {
      id: 'labels-v3',
      version: '3',
      steps: [30, 100],
      step_seconds: 2,
      shadow: 0,
      gates: { max_label_error: 5, min_samples: 3 },
      approval: 'auto',
    });
    expect(res.status).toBe(201);
    // Every answer's true duration (10 minutes) comes back as a label keyed by its request id.
    const done = ended('labels-v3');
    while (!(await done())) {
      const ids = Array.from({ length: 8 }, () => uniqueId('lab'));
      const answers = await Promise.all(ids.map((id) => predict(uniqueId('k'), id)));
      for (const a of answers) expect(a.status).toBe(200);
      const labelled = await f.send(
        'POST',
        `${D}/feedback`,
        ids.map((key) => ({ key, label: 10 })),
      );
      expect(labelled.status).toBe(200);
      await f.log.flush();
    }
    const p = await progressOf('labels-v3');
    expect(p.status).toBe('rolled_back');
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]?.failures.map((x) => x.gate)).toEqual(['max_label_error']);
    expect(p.steps[0]?.figures?.labelError).toBeCloseTo(20, 4); // the constant 30 against labels of 10
    expect(p.steps[0]?.figures?.labelled).toBeGreaterThan(0);
  });

  /** A manual rollout of `version` in two 1 s steps (50 and 100 %), no shadow share. */
  const startManual = (id: string, version: string) =>
    f.send('POST', `${D}/rollouts`, {
      id,
      version,
      steps: [50, 100],
      step_seconds: 1,
      approval: 'manual',
      shadow: 0,
    });

  it('manual approval waits before 100 %; approve promotes, reject rolls back; overlaps are refused', async () => {
    expect((await startManual('manual-v2', '2')).status).toBe(201);
    await drive(async () => (await progressOf('manual-v2')).status === 'awaiting_approval');
    // While it waits: a second rollout and a hand-made routing change are conflicts.
    expect((await startManual('second', '3')).status).toBe(409);
    expect((await f.send('POST', `${D}/routing`, { canary: 5 })).status).toBe(409);
    const approved = await f.send(
      'POST',
      `${D}/rollouts/manual-v2/approve`,
      { reason: 'looks right' },
      { 'x-actor': 'alice' },
    );
    expect(approved.status).toBe(200);
    expect((await json<RolloutProgress>(approved)).approved).toMatchObject({
      actor: expect.stringMatching(/^api-key:[0-9a-f]{8} \(alice\)$/) as unknown,
      reason: 'looks right',
    });
    await drive(ended('manual-v2'));
    expect(await progressOf('manual-v2')).toMatchObject({ status: 'succeeded' });
    expect((await progressOf('manual-v2')).outcome).toMatch(/approved by api-key:[0-9a-f]{8} \(alice\)/);

    expect((await startManual('manual-v1', '1')).status).toBe(201);
    await drive(async () => (await progressOf('manual-v1')).status === 'awaiting_approval');
    expect((await f.send('POST', `${D}/rollouts/manual-v1/reject`, { reason: 'not now' })).status).toBe(200);
    await waitFor(ended('manual-v1'), { timeoutMs: 20_000, what: 'the rejected rollout to end' });
    expect(await progressOf('manual-v1')).toMatchObject({ status: 'rejected' });
    const routing = await json<RoutingState>(await f.send('GET', `${D}/routing`));
    expect(routing).toMatchObject({ champion: '2', challenger: null, rollout: null });
    expect((await f.send('POST', `${D}/rollouts/manual-v1/approve`)).status).toBe(409);
  });

  it('an approval sent before the 100 % step is recorded at once and counts: the rollout does not stop there', async () => {
    expect((await startManual('early', '1')).status).toBe(201);
    const early = await f.send(
      'POST',
      `${D}/rollouts/early/approve`,
      { reason: 'pre-approved' },
      { 'x-actor': 'bob' },
    );
    expect(early.status).toBe(200);
    const body = await json<RolloutProgress>(early);
    expect(body.status).toBe('running');
    expect(body.approved).toMatchObject({
      reason: 'pre-approved',
      actor: expect.stringMatching(/\(bob\)$/) as unknown,
    });
    // A second approval changes nothing: the first one counts.
    const again = await f.send(
      'POST',
      `${D}/rollouts/early/approve`,
      { reason: 'twice' },
      { 'x-actor': 'carol' },
    );
    expect((await json<RolloutProgress>(again)).approved?.reason).toBe('pre-approved');
    await drive(ended('early'));
    const done = await progressOf('early');
    expect(done).toMatchObject({ status: 'succeeded', approved: { reason: 'pre-approved' } });
    expect(done.outcome).toMatch(/approved by api-key:[0-9a-f]{8} \(bob\)/);
    expect(done.steps.map((s) => s.canary)).toEqual([50, 100]);
    // Back to the champion the next tests expect.
    await route({ champion: '2', reason: 'after the early approval' });
  });

  it('POST /models/{name}/aliases/production promotes through the controller: the routing and its history follow', async () => {
    const res = await f.send('POST', '/models/ride-duration/aliases/production', { version: '1' });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ version: '1', previous: '2' });
    const routing = await json<RoutingState>(await f.send('GET', `${D}/routing`));
    expect(routing).toMatchObject({ champion: '1', reason: 'alias production set to 1' });
    const { changes } = await json<{ changes: { state: RoutingState; reason: string }[] }>(
      await f.send('GET', `${D}/history`),
    );
    expect(changes.at(-1)).toMatchObject({ reason: 'alias production set to 1', state: { champion: '1' } });
    expect(await versionOf(await predict('anyone'))).toBe('1');
    const bad = await f.send('POST', '/models/ride-duration/aliases/production', { version: '9' });
    expect(bad.status).toBe(400);
    expect((await f.send('POST', '/models/ride-duration/aliases/production', { version: '2' })).status).toBe(
      200,
    );
  });

  it('two rollouts started at once: one owns the routing, the other ends refused (never left running)', async () => {
    const start = (id: string, version: string) =>
      f.send('POST', `${D}/rollouts`, {
        id,
        version,
        steps: [100],
        step_seconds: 60,
        approval: 'manual',
        shadow: 0,
      });
    const [a, b] = await Promise.all([start('race-a', '1'), start('race-b', '3')]);
    const started = [a, b].map((r) => r.status).sort();
    expect(started[0]).toBe(201); // at least one
    const ids = ['race-a', 'race-b'].filter((_, i) => [a, b][i]?.status === 201);
    await waitFor(
      async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await progressOf(id)).status));
        return statuses.every((s) => s !== 'running');
      },
      { timeoutMs: 20_000, what: 'both rollouts to settle (awaiting approval or refused)' },
    );
    const settled = await Promise.all(ids.map(async (id) => (await progressOf(id)).status));
    expect(settled.filter((s) => s === 'awaiting_approval')).toHaveLength(1);
    if (ids.length === 2) expect(settled).toContain('refused');
    else expect([a.status, b.status]).toContain(409);
    const owner = ids[settled.indexOf('awaiting_approval')] ?? '';
    expect((await json<RoutingState>(await f.send('GET', `${D}/routing`))).rollout).toBe(owner);
    expect((await f.send('POST', `${D}/rollouts/${owner}/abort`)).status).toBe(200);
    await waitFor(ended(owner), { timeoutMs: 20_000, what: 'the aborted rollout to end' });
    expect((await json<RoutingState>(await f.send('GET', `${D}/routing`))).rollout).toBeNull();
  });

  it('a rollout terminated while it owns the routing is released by an abort', async () => {
    const res = await f.send('POST', `${D}/rollouts`, {
      id: 'terminated',
      version: '1',
      steps: [50, 100],
      step_seconds: 60,
      approval: 'auto',
      shadow: 0,
    });
    expect(res.status).toBe(201);
    await waitFor(async () => (await progressOf('terminated')).steps.length === 1, {
      timeoutMs: 20_000,
      what: 'the first step',
    });
    await f.temporal.client.workflow
      .getHandle(`${f.worker.taskQueue}/rollout-ride-duration-terminated`)
      .terminate('test: lost rollout');
    const stuck = await json<RoutingState>(await f.send('GET', `${D}/routing`));
    expect(stuck).toMatchObject({ rollout: 'terminated', challenger: '1', canary: 50 });
    const abort = await f.send('POST', `${D}/rollouts/terminated/abort`, { reason: 'clean up' });
    expect(abort.status).toBe(409);
    expect(((await abort.json()) as { detail: string }).detail).toMatch(/released to the champion/);
    await f.apiRouting.refresh();
    const freed = await json<RoutingState>(await f.send('GET', `${D}/routing`));
    expect(freed).toMatchObject({ rollout: null, challenger: null, canary: 0 });
  });

  it('refuses bad rollout requests naming the field', async () => {
    const bad = await f.send('POST', `${D}/rollouts`, { version: '1', steps: [130] });
    expect(bad.status).toBe(400);
    expect(await fieldsOf(bad)).toEqual(['steps[0]', 'steps[0]']);
    const unknown = await f.send('POST', `${D}/rollouts`, { version: '9' });
    expect(unknown.status).toBe(400);
    expect(await fieldsOf(unknown)).toEqual(['version']);
    const champion = await f.send('POST', `${D}/rollouts`, { version: '2' });
    expect(champion.status).toBe(400);
    const missing = await f.send('GET', `${D}/rollouts/nope`);
    expect(missing.status).toBe(404);
  });
});

describe('controllers at worker start', () => {
  it('starts a controller and hands it the catalog without waiting for a worker (the worker starts after)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deployments-'));
    try {
      const spec = JSON.parse(
        await readFile(path.join(TEST_DEPLOYMENT_DIR, 'ride-duration.json'), 'utf8'),
      ) as Record<string, unknown>;
      const name = uniqueId('nowhere');
      await writeFile(
        path.join(dir, `${name}.json`),
        JSON.stringify({ ...spec, name, default: false, batch: undefined }),
      );
      const deployments = await loadDeployments({ dir, scorer: f.deps.scorer });
      // No worker polls this task queue: a call that waited for one would never return.
      const queue = uniqueId('no-worker');
      await ensureControllers(f.temporal.client, queue, f.db.pool, f.deps.scorer, deployments.ready());
      const handle = f.temporal.client.workflow.getHandle(`${queue}/routing-${name}`);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test over');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

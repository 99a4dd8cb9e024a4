/**
 * A worker's shutdown (SIGTERM) while a rollout's routing Update is in flight. The Update waits on a controller
 * workflow task; a worker that shuts down stops polling, so nothing would answer it and only the activity's
 * cancellation can end the call (activities/temporal-call.ts). Here the controller's task queue has no worker at
 * first, which holds the Update exactly as a worker that stopped polling does. The worker must stop without
 * waiting for the call, the rollout must keep running, and the next workers must carry it on: the claim lands on
 * the controller once, and the rollout can still be aborted back to the champion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type Activities } from '../../activities/index.js';
import { actOnRollout, startRollout } from '../../control/routing.js';
import {
  controllerId,
  rolloutProgressQuery,
  routingStateQuery,
  type RolloutProgress,
  type RolloutSpec,
} from '../../contracts/routing.js';
import type { ModelScorer } from '../../scoring/scorer.js';
import {
  connectTestTemporal,
  createTestDatabase,
  createTestScorer,
  loadTestDeployments,
  startTestWorker,
  uniqueId,
  waitFor,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from '../helpers.js';

const DEPLOYMENT = 'ride-duration';
/** PENDING_ACTIVITY_STATE_STARTED in Temporal's API: a worker holds the attempt. */
const STARTED = 2;

describe('a worker shut down during a rollout routing Update', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let scorer: ModelScorer;
  let activities: Activities;
  const workers: TestWorker[] = [];
  const rolloutQueue = uniqueId('tq-rollout');
  const controllerQueue = uniqueId('tq-controller');

  beforeAll(async () => {
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
    scorer = await createTestScorer(db.pool);
    activities = createActivities({
      pool: db.pool,
      scorer,
      deployments: await loadTestDeployments(db.pool, scorer),
      temporal: { client: () => Promise.resolve(temporal.client), taskQueue: controllerQueue },
    });
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await scorer?.close();
    await temporal?.close();
    await db?.drop();
  });

  const start = async (taskQueue: string) => {
    const w = await startTestWorker({ activities, taskQueue });
    workers.push(w);
    return w;
  };

  it('stops at once, and the next workers carry the rollout on with its claim applied once', async () => {
    const first = await start(rolloutQueue);
    const spec: RolloutSpec = {
      id: uniqueId('sigterm'),
      deployment: DEPLOYMENT,
      model: DEPLOYMENT,
      version: '1',
      steps: [50, 100],
      stepSeconds: 600,
      shadow: 0,
      gates: { min_samples: 1 },
      approval: 'auto',
      actor: 'test',
      reason: 'worker shutdown test',
    };
    const rollout = temporal.client.workflow.getHandle(
      await startRollout(temporal.client, rolloutQueue, spec),
    );
    const controller = temporal.client.workflow.getHandle(controllerId(controllerQueue, DEPLOYMENT));

    // The claim's activity runs on the first worker and has started the controller, which no worker polls yet.
    const claimRunning = async () => {
      const pending = (await rollout.describe()).raw.pendingActivities ?? [];
      return pending.some((a) => a.activityType?.name === 'updateRouting' && Number(a.state) === STARTED);
    };
    await waitFor(claimRunning, { timeoutMs: 30_000, what: 'the claim activity to start' });
    await waitFor(
      () =>
        controller.describe().then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 30_000,
        what: 'the controller to be started by the claim activity',
      },
    );

    // The SDK's runtime drains the worker on SIGTERM with the same call.
    first.worker.shutdown();
    let giveUp: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      first.stop().then(() => 'stopped'),
      new Promise<string>(
        (resolve) => (giveUp = setTimeout(() => resolve('still draining after 15 s'), 15_000)),
      ),
    ]);
    clearTimeout(giveUp);
    expect(outcome).toBe('stopped');
    workers.splice(workers.indexOf(first), 1);
    expect((await rollout.describe()).status.name).toBe('RUNNING');

    // The next workers: the rollout's activity is retried and the controller answers it.
    await start(controllerQueue);
    await start(rolloutQueue);
    expect((await rollout.query(rolloutProgressQuery)).status).toBe('running');
    await waitFor(async () => (await controller.query(routingStateQuery)).rollout === spec.id, {
      timeoutMs: 60_000,
      what: 'the retried claim to land on the controller',
      intervalMs: 100,
    });
    const routing = await controller.query(routingStateQuery);
    expect(routing).toMatchObject({ champion: '2', challenger: '1', canary: 0, rollout: spec.id });

    await actOnRollout(temporal.client, rolloutQueue, DEPLOYMENT, spec.id, 'abort', {
      actor: 'test',
      reason: 'done',
    });
    const ended = (await rollout.result()) as RolloutProgress;
    expect(ended.status).toBe('aborted');
    expect(await controller.query(routingStateQuery)).toMatchObject({ champion: '2', rollout: null });
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM routing_history WHERE deployment = $1 AND change -> 'claim' ->> 'rollout' = $2`,
      [DEPLOYMENT, spec.id],
    );
    expect(Number(rows[0]?.n)).toBe(1);
  });
});

/**
 * A progressive rollout (`<task queue>/rollout-<deployment>-<id>`): claims the deployment's routing for a challenger, then per
 * step sets the canary share, waits on a durable timer (paused time does not count), and judges the step's figures
 * against the gates. A failed gate rolls back to the champion at once, with the gate and its figures recorded;
 * manual approval waits for approve or reject before the 100 % step; success promotes the challenger. Progress is
 * a query, the `rollouts` table and two search attributes (RolloutStatus, RolloutStep) for the Temporal Web UI.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  isCancellation,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  abortRolloutUpdate,
  approveRolloutSignal,
  approveRolloutUpdate,
  judgeStep,
  pauseRolloutUpdate,
  rejectRolloutSignal,
  rejectRolloutUpdate,
  resumeRolloutUpdate,
  rolloutProgressQuery,
  type RolloutAction,
  type RolloutProgress,
  type RolloutSpec,
  type RolloutStatus,
  type StepRecord,
} from '../contracts/routing.js';
import { ROLLOUT_STATUS_KEY, ROLLOUT_STEP_KEY } from '../contracts/temporal.js';

// Bookkeeping and figures: bounded retries; a rollout that cannot read its figures rolls back rather than waits.
const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 10,
  },
});
// Routing Updates must land (through a Temporal restart too): retried until they do or are refused.
const routingActs = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

const ENDED: RolloutStatus[] = ['succeeded', 'rolled_back', 'rejected', 'aborted', 'refused', 'failed'];

const messageOf = (err: unknown): string => {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(err);
};

export async function rollout(spec: RolloutSpec): Promise<RolloutProgress> {
  const now = () => new Date().toISOString();
  const progress: RolloutProgress = {
    spec,
    status: 'running',
    step: 0,
    steps: [],
    champion: '',
    startedAt: now(),
    endedAt: null,
    outcome: null,
  };
  let paused = false;
  let stop: { status: 'rejected' | 'aborted'; action: RolloutAction } | null = null;
  // Set once the outcome is decided: actions arriving while the release is sent are refused, not half-taken.
  let finishing = false;
  const ended = () => finishing || ENDED.includes(progress.status);

  const refuseUnless = (ok: boolean, message: string) => {
    if (!ok) throw ApplicationFailure.create({ type: 'RolloutConflict', message, nonRetryable: true });
  };
  const where = () =>
    `rollout ${spec.id} is ${progress.status} at step ${progress.step + 1}/${spec.steps.length}`;
  const reject = (action: RolloutAction) => {
    if (!ended() && !stop) stop = { status: 'rejected', action };
  };
  // The first approval counts, also one sent before the 100 % step (it then goes on without waiting there).
  const approve = (action: RolloutAction) => {
    if (ended() || spec.approval !== 'manual' || progress.approved) return;
    progress.approved = { ...action, at: now() };
  };

  setHandler(rolloutProgressQuery, () => progress);
  setHandler(
    approveRolloutUpdate,
    (action) => {
      approve(action);
      return progress;
    },
    {
      validator: (_action: RolloutAction) => {
        refuseUnless(spec.approval === 'manual', `rollout ${spec.id} approves itself (approval "auto")`);
        refuseUnless(!ended() && stop === null, `${where()}: nothing to approve`);
      },
    },
  );
  setHandler(
    rejectRolloutUpdate,
    (action) => {
      reject(action);
      return progress;
    },
    {
      validator: (_action: RolloutAction) =>
        refuseUnless(!ended() && stop === null, `${where()}: nothing to reject`),
    },
  );
  setHandler(approveRolloutSignal, approve);
  setHandler(rejectRolloutSignal, reject);
  setHandler(
    pauseRolloutUpdate,
    (_action: RolloutAction) => {
      paused = true;
      progress.status = 'paused';
      return progress;
    },
    {
      validator: (_action: RolloutAction) =>
        refuseUnless(progress.status === 'running', `${where()}: only a running rollout pauses`),
    },
  );
  setHandler(
    resumeRolloutUpdate,
    (_action: RolloutAction) => {
      paused = false;
      progress.status = 'running';
      return progress;
    },
    {
      validator: (_action: RolloutAction) =>
        refuseUnless(progress.status === 'paused', `${where()}: it is not paused`),
    },
  );
  setHandler(
    abortRolloutUpdate,
    (action) => {
      if (!stop) stop = { status: 'aborted', action };
      return progress;
    },
    {
      validator: (_action: RolloutAction) =>
        refuseUnless(!ended() && stop === null, `${where()}: nothing to abort`),
    },
  );

  const show = async () => {
    const stepText = `${progress.step + 1}/${spec.steps.length}:${spec.steps[progress.step] ?? 0}%`;
    upsertSearchAttributes([
      { key: ROLLOUT_STATUS_KEY, value: progress.status },
      { key: ROLLOUT_STEP_KEY, value: stepText },
    ]);
    await acts.saveRolloutProgress(progress);
  };
  const actor = `rollout:${spec.id}`;
  const routing = (op: 'change' | 'release', arg: unknown, updateId: string) =>
    routingActs.updateRouting({ deployment: spec.deployment, op, arg, updateId });

  const finish = async (status: RolloutStatus, outcome: string) => {
    finishing = true;
    await routing(
      'release',
      { rollout: spec.id, promote: status === 'succeeded', actor, reason: outcome },
      `${spec.id}-release`,
    );
    progress.status = status;
    progress.outcome = outcome;
    progress.endedAt = now();
    const last = progress.steps.at(-1);
    if (last && last.endedAt === null) last.endedAt = progress.endedAt;
    await show();
    await condition(allHandlersFinished);
    return progress;
  };
  const stopped = () => {
    const s = stop;
    if (!s) return null;
    const by = s.action.reason ? `${s.action.actor}: ${s.action.reason}` : s.action.actor;
    return { status: s.status, outcome: `${s.status} by ${by}` };
  };

  let claimed;
  try {
    claimed = await routingActs.updateRouting({
      deployment: spec.deployment,
      op: 'claim',
      arg: {
        rollout: spec.id,
        version: spec.version,
        shadow: spec.shadow,
        actor: spec.actor,
        reason: spec.reason,
      },
      updateId: `${spec.id}-claim`,
    });
  } catch (err) {
    // Refused (another rollout claimed the routing first, a version this worker does not have): nothing to undo.
    finishing = true;
    progress.status = 'refused';
    progress.outcome = `the routing refused the rollout: ${messageOf(err)}`;
    progress.endedAt = now();
    await show();
    return progress;
  }
  progress.champion = claimed.champion;
  const pairsFrom = now();
  try {
    return await steps(pairsFrom);
  } catch (err) {
    if (isCancellation(err)) {
      // Cancelled (temporal workflow cancel): give the routing back before going.
      await CancellationScope.nonCancellable(() => finish('aborted', `cancelled: ${messageOf(err)}`));
      throw err;
    }
    // Whatever failed, the routing goes back to the champion: a rollout never leaves it owned.
    return finish('failed', `rolled back after an error: ${messageOf(err)}`);
  }

  async function steps(pairsFrom: string): Promise<RolloutProgress> {
    for (let i = 0; i < spec.steps.length; i++) {
      const canary = spec.steps[i] ?? 100;
      progress.step = i;
      if (canary === 100 && spec.approval === 'manual' && !progress.approved) {
        if (!paused) progress.status = 'awaiting_approval';
        await show();
        await condition(() => Boolean(progress.approved) || stop !== null);
        if (!paused) progress.status = 'running';
      }
      // A pause that came while the last step was judged holds the next share too.
      if (paused) {
        await show();
        await condition(() => !paused || stop !== null);
      }
      const halt = stopped();
      if (halt) return finish(halt.status, halt.outcome);

      await routing(
        'change',
        { canary, rollout: spec.id, actor, reason: `step ${i + 1}/${spec.steps.length}: canary ${canary}%` },
        `${spec.id}-step-${i}`,
      );
      const record: StepRecord = {
        step: i,
        canary,
        startedAt: now(),
        endedAt: null,
        figures: null,
        failures: [],
      };
      progress.steps.push(record);
      await show();

      // The step's time runs only while not paused; abort and reject end it at once.
      let remaining = spec.stepSeconds * 1000;
      while (remaining > 0 && stop === null) {
        if (paused) {
          await show();
          await condition(() => !paused || stop !== null);
          await show();
          continue;
        }
        const started = Date.now();
        await condition(() => paused || stop !== null, remaining);
        remaining -= Date.now() - started;
      }
      const halted = stopped();
      if (halted) return finish(halted.status, halted.outcome);

      record.endedAt = now();
      record.figures = await acts.rolloutStepFigures({
        deployment: spec.deployment,
        version: spec.version,
        from: record.startedAt,
        to: record.endedAt,
        pairsFrom,
      });
      record.failures = judgeStep(spec.gates, record.figures);
      if (record.failures.length > 0) {
        const failed = record.failures.map((f) => `${f.gate}: ${f.message}`).join('; ');
        return finish('rolled_back', `step ${i + 1} (canary ${canary}%) failed its gates: ${failed}`);
      }
      await show();
    }
    const by = progress.approved ? ` (approved by ${progress.approved.actor})` : '';
    return finish(
      'succeeded',
      `version ${spec.version} promoted to champion after ${spec.steps.length} steps${by}`,
    );
  }
}

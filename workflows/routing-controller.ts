/**
 * One controller per deployment (`<task queue>/routing-<deployment>`), an entity workflow that owns its routing: every change is
 * an Update whose validator refuses what it can see (shares, ownership by a rollout, the champion as challenger)
 * and whose handler checks the versions against the model registry, then publishes the new state to the Postgres
 * mirror (which the hot paths read) before it answers. Changes apply one at a time, in order; the workflow
 * continues as new when its history grows, carrying the state.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  applyPatch,
  changeRoutingUpdate,
  checkPatch,
  claimRolloutUpdate,
  releaseRolloutUpdate,
  routingStateQuery,
  setCatalogSignal,
  checkCatalog,
  initialRouting,
  type ClaimRollout,
  type ControllerInput,
  type FieldProblem,
  type ReleaseRollout,
  type VersionCatalog,
  type RoutingPatch,
  type RoutingState,
} from '../contracts/routing.js';

const checks = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
});
// The mirror must follow the controller: publishing retries until Postgres takes it.
const mirror = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/** Refusals carry their field-named problems; `RoutingConflict` means "another change owns this" (HTTP 409). */
function refuse(problems: FieldProblem[]): never {
  const conflict = problems.some((p) => p.field === 'rollout');
  throw ApplicationFailure.create({
    type: conflict ? 'RoutingConflict' : 'InvalidRouting',
    message: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
    details: [problems],
    nonRetryable: true,
  });
}

const MAX_RELEASED = 50;

export async function routingController(input: ControllerInput): Promise<void> {
  let state: RoutingState =
    input.state ??
    initialRouting(
      { deployment: input.deployment, model: input.model, champion: input.champion },
      {
        changedAt: new Date().toISOString(),
        changedBy: 'controller',
        reason: 'controller started',
      },
    );
  // Rollouts that already released the routing: a retried release answers the state instead of a conflict.
  const released: string[] = [...(input.released ?? [])];
  // What the model registry holds: the validators refuse a version it does not load without touching the history.
  let catalog = input.catalog;
  setHandler(setCatalogSignal, (next: VersionCatalog) => {
    if (Array.isArray(next?.loaded) && typeof next.refused === 'object') catalog = next;
  });
  const known = (versions: Record<string, string | null | undefined>) =>
    checkCatalog(catalog, state.model, versions);

  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const same = (a: RoutingState, b: RoutingState) =>
    a.champion === b.champion &&
    a.challenger === b.challenger &&
    a.canary === b.canary &&
    a.shadow === b.shadow &&
    a.rollout === b.rollout &&
    JSON.stringify(a.sticky) === JSON.stringify(b.sticky);

  /** Checks the versions that change, numbers the state, publishes it, and only then makes it current. */
  async function commit(next: RoutingState, change: unknown, actor: string, reason: string) {
    if (same(next, state)) return state;
    const versions: Record<string, string> = {};
    if (next.champion !== state.champion) versions.champion = next.champion;
    if (next.challenger !== null && next.challenger !== state.challenger)
      versions.challenger = next.challenger;
    if (Object.keys(versions).length > 0) {
      const problems = await checks.checkRoutingVersions({ model: state.model, versions });
      if (problems.length > 0) refuse(problems);
    }
    const numbered: RoutingState = {
      ...next,
      revision: state.revision + 1,
      changedAt: new Date().toISOString(),
      changedBy: actor,
      reason,
    };
    const published = await mirror.publishRouting({ state: numbered, change });
    if (published.outcome === 'stale') {
      // Another controller moved the mirror on (this one started without its state): take that state up.
      state = published.mirror;
      refuse([
        {
          field: 'rollout',
          message: `the routing of ${state.deployment} moved on elsewhere (revision ${state.revision}); the controller took it up: try again`,
        },
      ]);
    }
    state = numbered;
    return state;
  }

  setHandler(routingStateQuery, () => state);

  setHandler(
    changeRoutingUpdate,
    (patch: RoutingPatch) =>
      serial(async () => {
        const problems = checkPatch(state, patch);
        if (problems.length > 0) refuse(problems);
        return commit(applyPatch(state, patch), patch, patch.actor, patch.reason ?? 'routing changed');
      }),
    {
      validator: (patch: RoutingPatch) => {
        const problems = [
          ...checkPatch(state, patch),
          ...known({ champion: patch.champion, challenger: patch.challenger }),
        ];
        if (problems.length > 0) refuse(problems);
      },
    },
  );

  const claimProblems = (c: { rollout: string; version: string; shadow: number }): FieldProblem[] => {
    if (state.rollout === c.rollout && state.challenger === c.version) return [];
    if (state.rollout !== null)
      return [{ field: 'rollout', message: `rollout ${state.rollout} is running on ${state.deployment}` }];
    return checkPatch(state, {
      challenger: c.version,
      canary: 0,
      shadow: c.shadow,
      actor: `rollout:${c.rollout}`,
    });
  };
  setHandler(
    claimRolloutUpdate,
    (claim) =>
      serial(async () => {
        const problems = claimProblems(claim);
        if (problems.length > 0) refuse(problems);
        if (state.rollout === claim.rollout) return state;
        const next = {
          ...applyPatch(state, {
            challenger: claim.version,
            canary: 0,
            shadow: claim.shadow,
            actor: claim.actor,
          }),
          rollout: claim.rollout,
        };
        return commit(
          next,
          { claim },
          claim.actor,
          claim.reason ?? `rollout ${claim.rollout} of version ${claim.version} started`,
        );
      }),
    {
      validator: (claim: ClaimRollout) => {
        const problems = [...claimProblems(claim), ...known({ version: claim.version })];
        if (problems.length > 0) refuse(problems);
      },
    },
  );

  const releaseProblems = (rollout: string): FieldProblem[] =>
    state.rollout === rollout || released.includes(rollout)
      ? []
      : [{ field: 'rollout', message: `rollout ${rollout} does not own the routing of ${state.deployment}` }];
  setHandler(
    releaseRolloutUpdate,
    (release) =>
      serial(async () => {
        const problems = releaseProblems(release.rollout);
        if (problems.length > 0) refuse(problems);
        if (state.rollout !== release.rollout) return state; // released before (a retried call)
        const champion = release.promote && state.challenger !== null ? state.challenger : state.champion;
        const next: RoutingState = {
          ...state,
          champion,
          challenger: null,
          canary: 0,
          shadow: 0,
          rollout: null,
        };
        const after = await commit(next, { release }, release.actor, release.reason);
        released.push(release.rollout);
        if (released.length > MAX_RELEASED) released.shift();
        return after;
      }),
    {
      validator: (release: ReleaseRollout) => {
        const problems = releaseProblems(release.rollout);
        if (problems.length > 0) refuse(problems);
      },
    },
  );

  // The first run records where the routing starts, so the history answers for any time after it.
  if (!input.state || input.publish)
    await serial(async () => {
      const first = await mirror.publishRouting({ state, change: { start: input.champion } });
      if (first.outcome === 'stale') state = first.mirror;
    });

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5000);
  await condition(allHandlersFinished);
  await queue;
  await continueAsNew<typeof routingController>({
    ...input,
    state,
    released,
    publish: false,
    ...(catalog ? { catalog } : {}),
  });
}

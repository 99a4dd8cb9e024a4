/**
 * Routing of a deployment's traffic between versions, owned by one controller workflow per deployment
 * (`<task queue>/routing-<deployment>`), and progressive rollouts (`<task queue>/rollout-<deployment>-<id>`). Everything here is pure and
 * deterministic: the workflow bundle, the API and the CLI import it.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** The part a prediction played: answered by the champion, by the challenger (canary), or scored on the side. */
export type Role = 'champion' | 'canary' | 'shadow' | 'direct';

/** One key always meets the same version: a record field's value or a request header's (online only). */
export type Sticky = { field: string } | { header: string };

export interface RoutingState {
  deployment: string;
  model: string;
  /** The version that answers when no canary applies; production is a view of it. */
  champion: string;
  challenger: string | null;
  /** Percent (0..100) of traffic the challenger answers. */
  canary: number;
  /** Percent (0..100) of the champion's traffic also scored by the challenger, off the response's path. */
  shadow: number;
  sticky: Sticky | null;
  /** The rollout that owns the challenger and shares now, if one runs. */
  rollout: string | null;
  /** Increases by one with every change; the mirror only ever moves forward. */
  revision: number;
  changedAt: string;
  changedBy: string;
  reason: string;
}

/** The routing before any change: the champion alone (revision 0). */
export function initialRouting(
  at: { deployment: string; model: string; champion: string },
  by: { changedAt: string; changedBy: string; reason: string },
): RoutingState {
  return {
    ...at,
    challenger: null,
    canary: 0,
    shadow: 0,
    sticky: null,
    rollout: null,
    revision: 0,
    ...by,
  };
}

/** A change to the routing; fields left out keep their value. */
export interface RoutingPatch {
  champion?: string;
  challenger?: string | null;
  canary?: number;
  shadow?: number;
  sticky?: Sticky | null;
  /** The rollout making the change (only it may change the routing while it runs). */
  rollout?: string;
  actor: string;
  reason?: string;
}

export interface ClaimRollout {
  rollout: string;
  version: string;
  shadow: number;
  actor: string;
  reason?: string;
}

export interface ReleaseRollout {
  rollout: string;
  /** Promote the challenger to champion (success) or drop it (rollback, abort, reject). */
  promote: boolean;
  actor: string;
  reason: string;
}

export interface ControllerInput {
  deployment: string;
  model: string;
  /** The champion when the controller starts for the first time (the current production version). */
  champion: string;
  /** State carried over a continue-as-new, or read from the mirror when a controller starts again. */
  state?: RoutingState;
  /** Rollouts that released the routing lately (carried over a continue-as-new). */
  released?: string[];
  /** Publish `state` first (a state changed on the way in: a rollout that no longer runs was dropped). */
  publish?: boolean;
  /** The versions of the model the starter's registry holds, for the Update validators (kept fresh by workers). */
  catalog?: VersionCatalog;
}

/** Which versions of a model are loaded, and why the others were refused at load. */
export interface VersionCatalog {
  loaded: string[];
  refused: Record<string, string>;
}

/** Problems with versions a change names, against a catalog: not loaded, or refused at load with the reason. */
export function checkCatalog(
  catalog: VersionCatalog | undefined,
  model: string,
  versions: Record<string, string | null | undefined>,
): FieldProblem[] {
  if (!catalog) return [];
  const out: FieldProblem[] = [];
  for (const [field, version] of Object.entries(versions)) {
    if (typeof version !== 'string' || catalog.loaded.includes(version)) continue;
    const refused = catalog.refused[version];
    out.push({
      field,
      message:
        refused !== undefined
          ? `version ${version} of ${model} was refused at load: ${refused}`
          : `version ${version} of ${model} is not loaded (loaded: ${catalog.loaded.join(', ') || 'none'})`,
    });
  }
  return out;
}

export const ROUTING_CHANNEL = 'deployment_routing';
/** NOTIFY channel of every saved rollout progress (a step started or judged, a pause, the end): RolloutEvent. */
export const ROLLOUTS_CHANNEL = 'rollouts';
export interface RolloutEvent {
  deployment: string;
  id: string;
  status: RolloutStatus;
  /** Index of the current step (0-based). */
  step: number;
}
/**
 * Workflow ids, scoped by task queue (`ride-duration/routing-ride-duration`): stacks that share one Temporal
 * namespace on different task queues (test suites, a staging worker) never answer each other's routing.
 */
export const controllerId = (taskQueue: string, deployment: string) => `${taskQueue}/routing-${deployment}`;
export const rolloutWorkflowId = (taskQueue: string, deployment: string, id: string) =>
  `${taskQueue}/rollout-${deployment}-${id}`;

export const routingStateQuery = defineQuery<RoutingState>('routingState');
export const changeRoutingUpdate = defineUpdate<RoutingState, [RoutingPatch]>('changeRouting');
export const claimRolloutUpdate = defineUpdate<RoutingState, [ClaimRollout]>('claimRollout');
export const releaseRolloutUpdate = defineUpdate<RoutingState, [ReleaseRollout]>('releaseRollout');
/** A signal, not an Update: a worker sends it while it starts, before it polls (an Update would wait for a worker). */
export const setCatalogSignal = defineSignal<[VersionCatalog]>('setCatalog');

// ---------------------------------------------------------------------------------------------------------------
// Progressive rollouts

export interface RolloutGates {
  /** Highest share of the challenger's scoring calls that may fail (0..1). */
  max_error_rate?: number;
  /** Highest p99 latency (ms) of the challenger's online calls. */
  max_p99_ms?: number;
  /**
   * Highest mean distance between the challenger's and the champion's predictions on the same traffic (shadow
   * pairs): |a - b| for a regression, the share of different labels for a classifier.
   */
  max_mean_diff?: number;
  /**
   * Highest error of the challenger on labelled rows (late labels, POST /deployments/{name}/feedback) since the
   * rollout began: mean |prediction - label| for a regression, the share of wrong labels for a classifier. Not
   * judged while no canary prediction has its label yet.
   */
  max_label_error?: number;
  /** Fewest challenger predictions a step must produce; fewer is a failed gate (no evidence, no promotion). */
  min_samples?: number;
}

export type Approval = 'auto' | 'manual';

export interface RolloutSpec {
  id: string;
  deployment: string;
  model: string;
  version: string;
  /** Canary percent per step, increasing, the last one 100. */
  steps: number[];
  stepSeconds: number;
  /** Percent of the champion's traffic scored by the challenger too, for the comparison gate. */
  shadow: number;
  gates: RolloutGates;
  approval: Approval;
  actor: string;
  reason: string;
}

/** `refused`: the routing refused the claim (nothing changed); `failed`: an error it could not get past (rolled back). */
export type RolloutStatus =
  | 'running'
  | 'paused'
  | 'awaiting_approval'
  | 'succeeded'
  | 'rolled_back'
  | 'rejected'
  | 'aborted'
  | 'refused'
  | 'failed';

/** What one step's window produced, per gate. */
export interface StepFigures {
  samples: number;
  errors: number;
  errorRate: number | null;
  p99Ms: number | null;
  pairs: number;
  meanDiff: number | null;
  /** Canary predictions with a label since the rollout began, and the challenger's error on them. */
  labelled?: number;
  labelError?: number | null;
}

export interface GateFailure {
  gate: keyof RolloutGates;
  limit: number;
  actual: number | null;
  message: string;
}

export interface StepRecord {
  step: number;
  canary: number;
  startedAt: string;
  endedAt: string | null;
  figures: StepFigures | null;
  failures: GateFailure[];
}

export interface RolloutProgress {
  spec: RolloutSpec;
  status: RolloutStatus;
  /** Index into spec.steps of the step running (or last run). */
  step: number;
  steps: StepRecord[];
  champion: string;
  startedAt: string;
  endedAt: string | null;
  /** Why it ended as it did (the failed gate and its figures, the rejection's reason). */
  outcome: string | null;
  /** A manual rollout's approval (who, why, when), once given; absent before it (and in auto rollouts). */
  approved?: RolloutAction & { at: string };
}

export interface RolloutAction {
  actor: string;
  reason?: string;
}

export const rolloutProgressQuery = defineQuery<RolloutProgress>('rolloutProgress');
export const approveRolloutUpdate = defineUpdate<RolloutProgress, [RolloutAction]>('approveRollout');
export const rejectRolloutUpdate = defineUpdate<RolloutProgress, [RolloutAction]>('rejectRollout');
export const pauseRolloutUpdate = defineUpdate<RolloutProgress, [RolloutAction]>('pauseRollout');
export const resumeRolloutUpdate = defineUpdate<RolloutProgress, [RolloutAction]>('resumeRollout');
export const abortRolloutUpdate = defineUpdate<RolloutProgress, [RolloutAction]>('abortRollout');
/** Same as approve, for callers that only signal (`temporal workflow signal`). */
export const approveRolloutSignal = defineSignal<[RolloutAction]>('approve');
export const rejectRolloutSignal = defineSignal<[RolloutAction]>('reject');

export const ROLLOUT_ACTIONS = ['approve', 'reject', 'pause', 'resume', 'abort'] as const;
export type RolloutActionName = (typeof ROLLOUT_ACTIONS)[number];

// ---------------------------------------------------------------------------------------------------------------
// Batch shadow runs

export interface BatchShadowInput {
  deployment: string;
  model: string;
  champion: string;
  challenger: string;
  from?: string;
  to?: string;
  chunkSize?: number;
  maxParallelChunks?: number;
}

export const batchShadowWorkflowId = (deployment: string, challenger: string, partition: string) =>
  `batch-shadow-${deployment}-${challenger}-${partition}`;

export interface VersionFigures {
  version: string;
  /** Rows of the comparison with a known label. */
  labelled: number;
  /** Regression. */
  mae?: number | null;
  rmse?: number | null;
  /** Classification. */
  accuracy?: number | null;
}

export interface BatchComparison {
  deployment: string;
  partition: { from: string; to: string };
  champion: VersionFigures;
  challenger: VersionFigures;
  /** Rows both versions scored (the challenger run's rows with a champion prediction). */
  pairs: number;
  challengerRows: number;
  /** Regression: challenger - champion, its mean, and |difference| quantiles and histogram. */
  difference?: {
    mean: number | null;
    meanAbs: number | null;
    p50: number | null;
    p90: number | null;
    p99: number | null;
    maxAbs: number | null;
    histogram: { from: number; to: number; count: number }[];
  };
  /** Classification: the share of rows with the same label, and the most frequent label pairs. */
  agreement?: number | null;
  confusion?: { champion: string; challenger: string; count: number }[];
  challengerRunId: string;
  championRunId?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Checks shared by the API (400 before anything starts) and the workflows' Update validators.

/** A field-named problem: `{ field: 'canary', message: 'must be between 0 and 100 (got 130)' }`. */
export interface FieldProblem {
  field: string;
  message: string;
}

export const VERSION_PATTERN = /^[0-9A-Za-z._-]{1,64}$/;

function share(field: string, value: unknown, out: FieldProblem[]): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100)
    out.push({ field, message: `must be a percent between 0 and 100 (got ${JSON.stringify(value)})` });
}

function version(field: string, value: unknown, out: FieldProblem[]): void {
  if (typeof value !== 'string' || !VERSION_PATTERN.test(value))
    out.push({ field, message: `must be a version such as "2" (got ${JSON.stringify(value)})` });
}

function sticky(value: unknown, out: FieldProblem[]): void {
  if (value === undefined || value === null) return;
  const v = value as Record<string, unknown>;
  const keys = typeof value === 'object' ? Object.keys(v) : [];
  const ok =
    keys.length === 1 &&
    ((keys[0] === 'field' && typeof v.field === 'string' && v.field.length > 0) ||
      (keys[0] === 'header' && typeof v.header === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(v.header)));
  if (!ok)
    out.push({
      field: 'sticky',
      message: 'must be {"field": "<record field>"} or {"header": "<header name>"}, or null',
    });
}

/** Problems with a patch against the current state (the version's existence is checked by the registry). */
export function checkPatch(state: RoutingState, patch: RoutingPatch): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (state.rollout !== null && patch.rollout !== state.rollout)
    out.push({
      field: 'rollout',
      message: `rollout ${state.rollout} owns the routing of ${state.deployment} until it ends: pause or abort it first`,
    });
  share('canary', patch.canary, out);
  share('shadow', patch.shadow, out);
  sticky(patch.sticky, out);
  if (patch.champion !== undefined) version('champion', patch.champion, out);
  if (patch.challenger !== undefined && patch.challenger !== null)
    version('challenger', patch.challenger, out);
  const next = applyPatch(state, patch);
  if (next.challenger === null && ((patch.canary ?? 0) > 0 || (patch.shadow ?? 0) > 0))
    out.push({
      field: 'challenger',
      message: 'canary and shadow shares need a challenger version (set "challenger")',
    });
  if (next.challenger !== null && next.challenger === next.champion)
    out.push({ field: 'challenger', message: `version ${next.champion} is already the champion` });
  if (!patch.actor) out.push({ field: 'actor', message: 'must name who makes the change' });
  return out;
}

/** The state after a patch (not yet numbered: the controller sets revision and time). */
export function applyPatch(state: RoutingState, patch: RoutingPatch): RoutingState {
  const championChanged = patch.champion !== undefined && patch.champion !== state.champion;
  const challenger =
    patch.challenger !== undefined
      ? patch.challenger
      : championChanged && state.challenger === patch.champion
        ? null
        : state.challenger;
  return {
    ...state,
    champion: patch.champion ?? state.champion,
    challenger,
    canary: challenger === null ? 0 : (patch.canary ?? state.canary),
    shadow: challenger === null ? 0 : (patch.shadow ?? state.shadow),
    sticky: patch.sticky !== undefined ? patch.sticky : state.sticky,
  };
}

export const ROLLOUT_ID = /^[a-z0-9][a-z0-9-]{0,40}$/;

/** Problems with a rollout request, by field (`steps[2]`, `gates.max_error_rate`). */
export function checkRolloutSpec(spec: RolloutSpec): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (!ROLLOUT_ID.test(spec.id))
    out.push({ field: 'id', message: 'must be lower-case letters, digits or "-" (at most 41)' });
  version('version', spec.version, out);
  if (!Array.isArray(spec.steps) || spec.steps.length === 0 || spec.steps.length > 20)
    out.push({ field: 'steps', message: 'must list 1 to 20 canary percents, e.g. [5, 25, 50, 100]' });
  else {
    spec.steps.forEach((s, i) => {
      if (typeof s !== 'number' || !(s > 0 && s <= 100))
        out.push({ field: `steps[${i}]`, message: `must be a percent above 0, at most 100 (got ${s})` });
      else if (i > 0 && s <= (spec.steps[i - 1] ?? 0))
        out.push({
          field: `steps[${i}]`,
          message: `must be larger than the step before (${spec.steps[i - 1]})`,
        });
    });
    if (spec.steps.at(-1) !== 100)
      out.push({ field: `steps[${spec.steps.length - 1}]`, message: 'the last step must be 100' });
  }
  if (!(Number.isFinite(spec.stepSeconds) && spec.stepSeconds >= 1 && spec.stepSeconds <= 7 * 86400))
    out.push({ field: 'step_seconds', message: 'must be between 1 and 604800 (a week)' });
  share('shadow', spec.shadow, out);
  const g = spec.gates;
  const rate = (name: keyof RolloutGates, value: number | undefined, max: number) => {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0 && value <= max))
      out.push({ field: `gates.${name}`, message: `must be between 0 and ${max} (got ${value})` });
  };
  rate('max_error_rate', g.max_error_rate, 1);
  rate('max_p99_ms', g.max_p99_ms, 600_000);
  rate('max_mean_diff', g.max_mean_diff, Number.MAX_VALUE);
  rate('max_label_error', g.max_label_error, Number.MAX_VALUE);
  rate('min_samples', g.min_samples, 1e9);
  if (spec.approval !== 'auto' && spec.approval !== 'manual')
    out.push({ field: 'approval', message: 'must be "auto" or "manual"' });
  return out;
}

/** The gates a step failed, with the figures that failed them. */
export function judgeStep(gates: RolloutGates, f: StepFigures): GateFailure[] {
  const out: GateFailure[] = [];
  const minSamples = gates.min_samples ?? 0;
  if (f.samples < minSamples)
    out.push({
      gate: 'min_samples',
      limit: minSamples,
      actual: f.samples,
      message: `the challenger made ${f.samples} predictions in the step, fewer than min_samples ${minSamples}`,
    });
  const over = (gate: keyof RolloutGates, limit: number | undefined, actual: number | null, what: string) => {
    if (limit === undefined) return;
    if (actual === null) {
      // Nothing to measure is only a failure when evidence was required.
      if (minSamples > 0)
        out.push({ gate, limit, actual, message: `${what}: nothing measured in the step (limit ${limit})` });
    } else if (actual > limit)
      out.push({ gate, limit, actual, message: `${what} ${round(actual)} is above the limit ${limit}` });
  };
  over('max_error_rate', gates.max_error_rate, f.errorRate, 'error rate');
  over('max_p99_ms', gates.max_p99_ms, f.p99Ms, 'p99 latency (ms)');
  over('max_mean_diff', gates.max_mean_diff, f.meanDiff, 'mean distance from the champion');
  // Labels come late: a step without any is not judged on them (the other gates still are).
  if (gates.max_label_error !== undefined && f.labelError !== null && f.labelError !== undefined)
    over(
      'max_label_error',
      gates.max_label_error,
      f.labelError,
      `error on ${f.labelled ?? 0} labelled predictions`,
    );
  return out;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * FNV-1a over the salt and the key, then murmur3's finalizer (so keys that differ in their last character spread
 * over the whole range), as a number in [0, 100): the same key always lands on the same side.
 */
export function bucketOf(key: string, salt: string): number {
  let h = 0x811c9dc5;
  const text = `${salt}:${key}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 0x100000000) * 100;
}

/** The distance between two answers: |a - b| for numbers, 0 or 1 for labels. */
export function distance(
  a: number | string | null | undefined,
  b: number | string | null | undefined,
): number | null {
  if (a === undefined || b === undefined || a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  return a === b ? 0 : 1;
}

export interface Decision {
  version: string;
  role: 'champion' | 'canary';
  /** The version to score on the side, when this call is in the shadow share. */
  shadow: string | null;
}

/**
 * Where one call (or event) goes. With a key the answer is a function of the key (sticky); without one, of
 * `draw` (two uniform numbers in [0, 100), one for the canary, one for the shadow).
 */
export function decide(state: RoutingState, key: string | undefined, draw: () => number): Decision {
  if (state.challenger === null || (state.canary <= 0 && state.shadow <= 0))
    return { version: state.champion, role: 'champion', shadow: null };
  const canaryAt = key === undefined ? draw() : bucketOf(key, 'canary');
  if (canaryAt < state.canary) return { version: state.challenger, role: 'canary', shadow: null };
  const shadowAt = key === undefined ? draw() : bucketOf(key, 'shadow');
  return {
    version: state.champion,
    role: 'champion',
    shadow: shadowAt < state.shadow ? state.challenger : null,
  };
}

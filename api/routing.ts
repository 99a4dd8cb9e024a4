/**
 * Online routing between a deployment's champion and challenger, read from the routing mirror (never Temporal):
 * `route` picks the version for a call (canary share, sticky key); a canary call that fails is answered by the
 * champion and recorded as the challenger's error; `shadow` scores the call again with the challenger after the
 * response is sent, off its path (bounded in flight; over the bound a shadow call is dropped and counted), and
 * logs the pair with the distance between the two answers.
 */
import type { Context } from 'hono';
import { decide, distance, type Role, type RoutingState, type Sticky } from '../contracts/routing.js';
import {
  DEFAULT_ALIAS,
  type FieldRecord,
  type ResolvedModel,
  type ScoreOutput,
} from '../contracts/scoring.js';
import { routedDeployment, type RoutingTable } from '../platform/routing.js';
import { ModelNotFoundError } from '../scoring/errors.js';
import type { LoadedModel } from '../scoring/load-model.js';
import { predictionAt } from '../scoring/predictions.js';
import type { AppDeps } from './deps.js';
import type { AppEnv } from './env.js';
import type { PredictionRecord } from './prediction-log.js';

export interface Routed {
  resolved: ResolvedModel;
  role: Role;
  /** The deployment whose routing chose the version (absent for a model no deployment routes). */
  deployment: string | undefined;
  /** Set while the deployment has a challenger (canary calls and shadow calls are logged whatever PREDICTION_LOG says). */
  state: RoutingState | undefined;
  shadow: ResolvedModel | undefined;
  /** The deployment's key field (late labels join on it); absent: rows are keyed by request id. */
  keyField?: string | undefined;
}

/**
 * The key a logged row carries for late labels: the record's key field when it has one, else the request id (with
 * `:<index>` for a record of a list).
 */
export function recordKeyOf(
  routed: Routed,
  record: FieldRecord | undefined,
  requestId: string,
  index: number,
  many: boolean,
): string {
  const field = routed.keyField;
  const value = field !== undefined && record && Object.hasOwn(record, field) ? record[field] : undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return many ? `${requestId}:${index}` : requestId;
}

export type ShadowScore = (model: ResolvedModel, records: readonly FieldRecord[]) => Promise<ScoreOutput>;

export interface OnlineRouting {
  /** The version for a call to `name`; `tag` is the caller's explicit version or alias (no routing then). */
  route(name: string, tag: string | undefined, keyOf: (sticky: Sticky) => string | undefined): Routed;
  /** Scores with the routed version; a failed canary call is logged and answered by the champion. */
  score(
    c: Context<AppEnv>,
    routed: Routed,
    records: readonly FieldRecord[],
    route: string,
    run: (model: ResolvedModel) => Promise<ScoreOutput>,
  ): Promise<{ routed: Routed; out: ScoreOutput }>;
  /** Whether this call's rows go to the prediction log. */
  logs(routed: Routed): boolean;
  /** Schedules the shadow call, if this call is in the shadow share. */
  shadow(
    c: Context<AppEnv>,
    routed: Routed,
    records: readonly FieldRecord[],
    out: ScoreOutput,
    route: string,
  ): void;
  /** Shadow calls running now, and dropped for being over the bound. */
  shadowInFlight(): number;
  shadowDropped(): number;
}

/** Shadow calls one API process keeps in flight (held or scoring); over it a shadow call is dropped and counted. */
export const MAX_SHADOW_IN_FLIGHT = 64;

export interface OnlineRoutingOptions {
  table?: RoutingTable;
  /** Scores a shadow call (default: the app's record batcher). */
  shadowScore: ShadowScore;
  maxShadowInFlight?: number;
  /** Log every call (PREDICTION_LOG=on), or only the challenger's (canary and shadow rows). */
  logAll: boolean;
  /** ROUTING_DRAW: a draw per call, or one per event-loop turn (`turnDraws`); per call when batching is off. */
  draw?: 'turn' | 'call';
  /** The calls one turn's canary draw is shared by, at most (DYNAMIC_BATCH_MAX_SIZE). */
  turnCalls?: number;
}

/**
 * Draws for `decide` whose canary draw is shared by the calls to one deployment routed in one event-loop turn (until
 * the next setImmediate), at most `maxCalls` of them (then a new draw). Under load those are the requests that one
 * batch gathers, so they go to one version together and the canary share runs as whole batches instead of one run
 * per call. Each call keeps its share's chance; calls of one turn are not independent. The shadow draw stays per
 * call: shadow calls are held and scored together anyway (SHADOW_HOLD_MS), so sharing it would only cluster them.
 * A call takes the turn's draw only when `decide` asks for one (a sticky call does not count).
 */
export function turnDraws(
  maxCalls: number,
  random: () => number = Math.random,
): (deployment: string) => () => number {
  let turn: Map<string, { canaryAt: number; calls: number }> | undefined;
  return (deployment) => {
    let drawn = 0;
    return () => {
      if (drawn++ > 0) return random() * 100;
      if (!turn) {
        setImmediate(() => (turn = undefined));
        turn = new Map();
      }
      let group = turn.get(deployment);
      if (!group || group.calls >= maxCalls)
        turn.set(deployment, (group = { canaryAt: random() * 100, calls: 0 }));
      group.calls++;
      return group.canaryAt;
    };
  };
}

/** The sticky key of a call: the named header, or the named field of its (first) record. */
export function stickyKey(
  c: Context<AppEnv>,
  sticky: Sticky,
  record: FieldRecord | undefined,
): string | undefined {
  if ('header' in sticky) return c.req.header(sticky.header) || undefined;
  const value = record && Object.hasOwn(record, sticky.field) ? record[sticky.field] : undefined;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** The role columns of a logged row. */
export function roleOf(routed: Routed): Pick<PredictionRecord, 'role' | 'deployment'> {
  return routed.deployment ? { role: routed.role, deployment: routed.deployment } : { role: routed.role };
}

/** `name@tag` as its two parts (`name` alone has no tag: the routed default). */
export function splitRef(ref: string): { name: string; tag: string | undefined } {
  const at = ref.indexOf('@');
  return at < 0 ? { name: ref, tag: undefined } : { name: ref.slice(0, at), tag: ref.slice(at + 1) };
}

export function createOnlineRouting(deps: AppDeps, options: OnlineRoutingOptions): OnlineRouting {
  const { scorer, logger } = deps;
  const { table } = options;
  const maxInFlight = options.maxShadowInFlight ?? MAX_SHADOW_IN_FLIGHT;
  let inFlight = 0;
  let dropped = 0;
  const drawFor =
    options.draw === 'turn' ? turnDraws(options.turnCalls ?? 64) : () => () => Math.random() * 100;
  // The deployment serving a model (and its key field), fixed after start: looked up once per model.
  const served = new Map<string, { deployment: string | undefined; keyField: string | undefined }>();
  const servedBy = (model: string) => {
    let found = served.get(model);
    if (!found) {
      const name = deps.deployments ? routedDeployment(deps.deployments)(model) : undefined;
      const keyField = name === undefined ? undefined : deps.deployments?.get(name)?.spec.key_field;
      served.set(model, (found = { deployment: name, keyField }));
    }
    return found;
  };

  const loaded = (m: ResolvedModel): LoadedModel | undefined => scorer.registry.get(m.name, m.version);
  const rowsOf = (
    c: Context<AppEnv>,
    routed: Routed,
    records: readonly FieldRecord[],
    route: string,
    extra: (index: number) => Partial<PredictionRecord>,
    indices: Iterable<number>,
    latencyMs: number,
  ): PredictionRecord[] => {
    const rows: PredictionRecord[] = [];
    const createdAt = new Date();
    for (const index of indices)
      rows.push({
        requestId: c.get('requestId'),
        rowIndex: index,
        route,
        model: routed.resolved.name,
        version: routed.resolved.version,
        features: { ...records[index] },
        prediction: null,
        latencyMs,
        createdAt,
        role: routed.role,
        recordKey: recordKeyOf(routed, records[index], c.get('requestId'), index, records.length > 1),
        ...(routed.deployment ? { deployment: routed.deployment } : {}),
        ...extra(index),
      });
    return rows;
  };

  const championOf = (routed: Routed): Routed => ({
    ...routed,
    role: 'champion',
    resolved: scorer.resolveNow(`${routed.resolved.name}@${routed.state?.champion ?? DEFAULT_ALIAS}`),
    shadow: undefined,
  });

  async function runShadow(
    c: Context<AppEnv>,
    routed: Routed,
    challenger: ResolvedModel,
    records: readonly FieldRecord[],
    out: ScoreOutput,
    route: string,
  ) {
    const side: Routed = { ...routed, resolved: challenger, role: 'shadow', shadow: undefined };
    const started = performance.now();
    const champion = loaded(routed.resolved);
    const model = loaded(challenger);
    try {
      if (!model)
        throw new Error(`${challenger.name}@${challenger.version} is not loaded in this API process`);
      const so = await options.shadowScore(challenger, records);
      const latencyMs = performance.now() - started;
      const kOf = new Map<number, number>();
      so.scored.forEach((index, k) => kOf.set(index, k));
      const championK = new Map<number, number>();
      out.scored.forEach((index, k) => championK.set(index, k));
      const rows = rowsOf(
        c,
        side,
        records,
        route,
        (index) => {
          const k = kOf.get(index) ?? 0;
          const ck = championK.get(index);
          const primary = so.predictions[index];
          return {
            prediction: typeof primary === 'number' ? primary : null,
            output: predictionAt(model, so, k),
            ...(champion && ck !== undefined ? { championOutput: predictionAt(champion, out, ck) } : {}),
            diff: distance(primary, out.predictions[index]),
          };
        },
        so.scored,
        latencyMs,
      );
      deps.predictionLog?.record(rows);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn(
        { model: `${challenger.name}@${challenger.version}`, err: message },
        'shadow scoring failed',
      );
      deps.predictionLog?.record(
        rowsOf(
          c,
          side,
          records,
          route,
          () => ({ error: message }),
          records.keys(),
          performance.now() - started,
        ),
      );
    }
  }

  return {
    route(name, tag, keyOf) {
      const { deployment, keyField } = servedBy(name);
      if (tag !== undefined && tag !== DEFAULT_ALIAS) {
        const resolved = scorer.resolveNow(`${name}@${tag}`);
        return { resolved, role: 'direct', deployment, keyField, state: undefined, shadow: undefined };
      }
      const state = table?.forModel(name);
      if (!state || state.challenger === null) {
        const resolved = scorer.resolveNow(name); // the production alias
        return { resolved, role: 'champion', deployment, keyField, state: undefined, shadow: undefined };
      }
      const key = state.sticky ? keyOf(state.sticky) : undefined;
      const d = decide(state, key, drawFor(state.deployment));
      let resolved: ResolvedModel;
      let role: Role = d.role;
      try {
        resolved = scorer.resolveNow(`${name}@${d.version}`);
      } catch (err) {
        if (!(err instanceof ModelNotFoundError) || d.role !== 'canary') throw err;
        // The controller checked the version on a worker; this process may not have it: the champion answers.
        logger.warn(
          { model: name, version: d.version },
          'canary version not loaded here; the champion answers',
        );
        resolved = scorer.resolveNow(`${name}@${state.champion}`);
        role = 'champion';
      }
      let shadow: ResolvedModel | undefined;
      if (d.shadow !== null) {
        try {
          shadow = scorer.resolveNow(`${name}@${d.shadow}`);
        } catch {
          shadow = undefined;
        }
      }
      return { resolved, role, deployment: state.deployment, keyField, state, shadow };
    },

    async score(c, routed, records, route, run) {
      if (routed.role !== 'canary') return { routed, out: await run(routed.resolved) };
      const started = performance.now();
      try {
        return { routed, out: await run(routed.resolved) };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        logger.warn({ model: routed.resolved, err: message }, 'canary scoring failed; the champion answers');
        deps.predictionLog?.record(
          rowsOf(
            c,
            routed,
            records,
            route,
            () => ({ error: message }),
            records.keys(),
            performance.now() - started,
          ),
        );
        const champion = championOf(routed);
        return { routed: champion, out: await run(champion.resolved) };
      }
    },

    // The gates read the challenger's rows (canary, shadow); the champion's are logged only with PREDICTION_LOG on.
    logs: (routed) => deps.predictionLog !== undefined && (options.logAll || routed.role === 'canary'),

    shadow(c, routed, records, out, route) {
      const challenger = routed.shadow;
      if (!challenger || !deps.predictionLog) return;
      if (inFlight >= maxInFlight) {
        dropped++;
        return;
      }
      inFlight++;
      // After this tick: the response is written first; the shadow call never holds it.
      const done = new Promise((resolve) => setImmediate(resolve))
        .then(() => runShadow(c, routed, challenger, records, out, route))
        .finally(() => inFlight--);
      deps.afterResponse?.track(done);
    },
    shadowInFlight: () => inFlight,
    shadowDropped: () => dropped,
  };
}

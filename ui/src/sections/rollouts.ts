/**
 * Rollouts: per deployment its routing state, the current rollout with its steps, figures and failed gates, the
 * rollouts list and the routing history as a timeline, with the actions (start, approve, reject, pause, resume,
 * abort; set or clear a challenger). Live: every routing change is announced on NOTIFY deployment_routing
 * (relayed by GET /ui/api/routing/events) and each rollout step changes the routing, so the page refetches on it.
 */
import { followSse, getJson } from '../api.js';
import { fill, h, panel, toast } from '../dom.js';
import { challengerForm, rolloutActions, startRolloutForm, type Target } from './rollout-forms.js';
import { ended, historyTimeline, rolloutDetail, rolloutsTable, routingFigures } from './rollout-view.js';
import type { Deployment, HistoryEntry, ModelList, RolloutProgress, RoutingState } from './shapes.js';
import type { Section } from './types.js';

/**
 * Whether the progress agrees with the routing: a rollout that owns the routing is inside a step at the routing's
 * canary (or waits, or is paused); one that ended has released it. Between the two the workflow is on its way.
 */
function settled(p: RolloutProgress, r: RoutingState): boolean {
  if (ended(p)) return r.rollout !== p.spec.id;
  if (p.status !== 'running') return true;
  const last = p.steps.at(-1);
  return last !== undefined && last.endedAt === null && r.rollout === p.spec.id && r.canary === last.canary;
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      window.clearTimeout(timer);
      resolve();
    });
  });

/** One deployment's part of the page, with its own refetch. */
function deploymentView(d: Deployment, models: ModelList, signal: AbortSignal) {
  const base = `/deployments/${encodeURIComponent(d.name)}`;
  const prefix = `ro-${d.name.replace(/[^a-z0-9-]/gi, '-')}`;
  const slots = {
    routing: h('div', {}),
    rollout: h('div', { id: `${prefix}-current` }),
    forms: h('div', {}),
    list: h('div', {}),
    history: h('div', {}),
  };
  const element = panel(
    prefix,
    d.name,
    h('h3', {}, 'Routing now'),
    slots.routing,
    slots.rollout,
    slots.forms,
    h('h3', {}, 'Rollouts'),
    slots.list,
    h('h3', {}, 'Routing history'),
    slots.history,
  );
  let shown = '';
  let formsKey = '';
  let stepTimer: number | undefined;
  /** The step the timer was set for (rollout, index, start). */
  let armedFor = '';
  signal.addEventListener('abort', () => window.clearTimeout(stepTimer));

  const target: Target = { name: d.name, base, prefix, changed: () => void settle(true) };

  /** Reads everything once and draws it; answers whether the current rollout agrees with the routing. */
  const load = async (): Promise<{ settled: boolean; changed: boolean }> => {
    const [routing, history, list] = await Promise.all([
      getJson<RoutingState>(`${base}/routing`, { signal }),
      getJson<{ changes: HistoryEntry[] }>(`${base}/history`, { signal }),
      getJson<{ rollouts: RolloutProgress[] }>(`${base}/rollouts`, { signal }),
    ]);
    const currentId = routing.rollout ?? list.rollouts[0]?.spec.id;
    const current = currentId
      ? await getJson<RolloutProgress>(`${base}/rollouts/${encodeURIComponent(currentId)}`, { signal })
      : undefined;
    const versions = models.models.filter((m) => m.name === routing.model).map((m) => m.version);

    fill(slots.routing, routingFigures(routing));
    fill(
      slots.rollout,
      current
        ? rolloutDetail(current, rolloutActions(target, current), `${prefix}-rollout-title`)
        : h('p', { class: 'empty' }, 'No rollout yet.'),
    );
    const key = `${routing.champion}|${routing.challenger}|${routing.rollout}`;
    if (key !== formsKey) {
      formsKey = key;
      const busy = routing.rollout
        ? h('p', { class: 'notes' }, `Rollout ${routing.rollout} owns the routing until it ends.`)
        : null;
      fill(
        slots.forms,
        h(
          'details',
          {},
          h('summary', {}, 'Start a rollout'),
          busy,
          startRolloutForm(target, routing, versions),
        ),
        h(
          'details',
          {},
          h('summary', {}, 'Challenger and shares'),
          busy,
          challengerForm(target, routing, versions),
        ),
      );
    }
    // The table is saved after each step, the live progress is fresher: show that one for the current rollout.
    const rows = list.rollouts.map((p) => (current && p.spec.id === current.spec.id ? current : p));
    fill(slots.list, rolloutsTable(d.name, rows));
    fill(slots.history, historyTimeline(d.name, history.changes));

    const last = current?.steps.at(-1);
    const step = current && last ? `${current.spec.id}/${last.step}/${last.startedAt}` : '';
    if (current?.status === 'running' && last && last.endedAt === null && step !== armedFor) {
      // The step's gates are judged when its timer ends: read once then (the routing does not change at that
      // point). Once per step: a step resumed after a pause ends later, and shows with the next routing change.
      armedFor = step;
      window.clearTimeout(stepTimer);
      const due = Date.parse(last.startedAt) + current.spec.stepSeconds * 1000 - Date.now();
      stepTimer = window.setTimeout(() => void settle(true), Math.max(0, due) + 200);
    }
    const text = JSON.stringify(current ?? null);
    const changed = text !== shown;
    shown = text;
    return { settled: current === undefined || settled(current, routing), changed };
  };

  let running: Promise<void> | undefined;
  let queued: boolean | undefined;
  /**
   * Refetches until the rollout agrees with the routing (a NOTIFY may arrive before the workflow has recorded
   * the step it belongs to) and, with `expectChange`, until its progress moved: a few reads, 0.1 s growing to 2 s.
   */
  const settle = async (expectChange: boolean): Promise<void> => {
    if (running) {
      queued = (queued ?? false) || expectChange;
      return running;
    }
    running = (async () => {
      let moved = false;
      for (let attempt = 0, delay = 100; attempt < 10 && !signal.aborted; attempt++) {
        const r = await load().catch((err: unknown) => {
          if (!signal.aborted) toast(`Could not refresh ${d.name}: ${(err as Error).message}`);
          return undefined;
        });
        if (!r) break;
        moved ||= r.changed;
        if (r.settled && (moved || !expectChange)) break;
        await pause(delay, signal);
        delay = Math.min(delay * 2, 2000);
      }
    })();
    try {
      await running;
    } finally {
      running = undefined;
      const again = queued;
      queued = undefined;
      if (again !== undefined) void settle(again);
    }
  };
  return { element, load, settle };
}

export const rollouts: Section = {
  id: 'rollouts',
  path: '/ui/rollouts',
  title: 'Rollouts',
  async render({ root, signal }) {
    const [{ deployments }, models] = await Promise.all([
      getJson<{ deployments: Deployment[] }>('/deployments', { signal }),
      getJson<ModelList>('/models', { signal }),
    ]);
    const views = new Map(
      deployments.filter((d) => d.status === 'ready').map((d) => [d.name, deploymentView(d, models, signal)]),
    );
    const live = h('p', { class: 'live', id: 'rollouts-live' }, 'Live updates: connecting…');
    fill(root, h('h1', {}, 'Rollouts'), live, ...[...views.values()].map((v) => v.element));
    await Promise.all([...views.values()].map((v) => v.load()));

    let connected = false;
    void followSse(
      '/ui/api/routing/events',
      (m) => {
        if (m.event === 'routing') {
          const { deployment } = JSON.parse(m.data) as { deployment?: string };
          void views.get(deployment ?? '')?.settle(false);
        } else if (m.event === 'ready' && connected) {
          // A reconnection: changes made while away were not announced.
          for (const v of views.values()) void v.settle(false);
        }
        if (m.event === 'ready') connected = true;
      },
      signal,
      (state) =>
        (live.textContent =
          state === 'open'
            ? 'Live updates: on (every routing change and rollout step shows at once)'
            : 'Live updates: reconnecting…'),
    );
  },
};

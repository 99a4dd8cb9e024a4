/**
 * Rollouts: per deployment its routing state, the current rollout with its steps, figures and failed gates, the
 * rollouts list and the routing history as a timeline, with the actions (start, approve, reject, pause, resume,
 * abort; set or clear a challenger). Live: every routing change is announced on NOTIFY deployment_routing and
 * every saved rollout progress (a step started or judged, a pause, the end) on NOTIFY rollouts, both relayed by
 * GET /ui/api/routing/events; the page reads the deployment again on each, and never on a timer.
 */
import { followSse, getJson } from '../api.js';
import { fill, h, panel, toast } from '../dom.js';
import { challengerForm, rolloutActions, startRolloutForm, type Target } from './rollout-forms.js';
import { historyTimeline, rolloutDetail, rolloutsTable, routingFigures } from './rollout-view.js';
import type { Deployment, HistoryEntry, ModelList, RolloutProgress, RoutingState } from './shapes.js';
import type { Section } from './types.js';

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
  let formsKey = '';

  const target: Target = { name: d.name, base, prefix, changed: () => refresh() };

  /** Reads everything once and draws it. */
  const load = async (): Promise<void> => {
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
  };

  let running: Promise<void> | undefined;
  let again = false;
  /**
   * Reads again after a change was announced: one read at a time, and one more after it when announcements came
   * meanwhile. No timer: each step's start, judgement, pause and end is saved with NOTIFY rollouts, each routing
   * change with NOTIFY deployment_routing, so the last announcement of a change is followed by a read after it.
   */
  const refresh = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = load()
      .catch((err: unknown) => {
        if (!signal.aborted) toast(`Could not refresh ${d.name}: ${(err as Error).message}`);
      })
      .finally(() => {
        running = undefined;
        if (again && !signal.aborted) {
          again = false;
          refresh();
        }
      });
  };
  return { element, load, refresh };
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
        if (m.event === 'routing' || m.event === 'rollout') {
          const { deployment } = JSON.parse(m.data) as { deployment?: string };
          views.get(deployment ?? '')?.refresh();
        } else if (m.event === 'ready' && connected) {
          // A reconnection: changes made while away were not announced.
          for (const v of views.values()) v.refresh();
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

/**
 * How the Rollouts page draws what the rollout API answers: a deployment's routing state, a rollout's steps with
 * their figures and failed gates, the list of rollouts, and the routing history as a timeline (newest first).
 * Pure rendering: the actions arrive as buttons built by the caller.
 */
import { figures, fmt, h, statusBadge, table } from '../dom.js';
import type { HistoryEntry, RolloutProgress, RolloutStatus, RoutingState, StepRecord } from './shapes.js';

/** Whether a status is final (typed over every status, so a new one must be placed here). */
const FINAL: Record<RolloutStatus, boolean> = {
  running: false,
  paused: false,
  awaiting_approval: false,
  succeeded: true,
  rolled_back: true,
  rejected: true,
  aborted: true,
  refused: true,
  failed: true,
};
/** After this the rollout changes nothing any more. */
export const ended = (p: RolloutProgress): boolean => FINAL[p.status] ?? false;

const pct = (n: number) => `${fmt.num(n)} %`;
const stickyText = (s: RoutingState['sticky']) =>
  s === null ? 'none' : 'field' in s ? `record field ${s.field}` : `header ${s.header}`;

/** One line that says who answers: "champion 2 · challenger 1 (canary 50 %, shadow 10 %)". */
export function routingSummary(r: RoutingState): string {
  const challenger = r.challenger
    ? ` · challenger ${r.challenger} (canary ${pct(r.canary)}, shadow ${pct(r.shadow)})`
    : ' · no challenger';
  return `champion ${r.champion}${challenger}`;
}

export function routingFigures(r: RoutingState): HTMLElement {
  return figures([
    ['Champion', r.champion],
    ['Challenger', r.challenger ?? 'none'],
    ['Canary', pct(r.canary)],
    ['Shadow', pct(r.shadow)],
    ['Sticky key', stickyText(r.sticky)],
    ['Running rollout', r.rollout ?? 'none'],
    ['Revision', r.revision],
    ['Changed', r.revision === 0 ? 'never' : `${fmt.time(r.changedAt)} by ${r.changedBy}`],
  ]);
}

const GATE_TEXT: Record<string, (limit: number) => string> = {
  max_error_rate: (v) => `error rate ≤ ${v}`,
  max_p99_ms: (v) => `p99 ≤ ${v} ms`,
  max_mean_diff: (v) => `mean distance ≤ ${v}`,
  min_samples: (v) => `samples ≥ ${v}`,
};

/** The gates in words; a gate this page does not know yet shows by its name. */
const gatesText = (g: RolloutProgress['spec']['gates']) => {
  const parts = Object.entries(g)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([gate, limit]) => GATE_TEXT[gate]?.(limit) ?? `${gate} ${limit}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
};

function stepsTable(p: RolloutProgress): HTMLElement {
  const planned = p.spec.steps.map(
    (canary, step): StepRecord =>
      p.steps[step] ?? { step, canary, startedAt: '', endedAt: null, figures: null, failures: [] },
  );
  const state = (s: StepRecord) => {
    if (s.failures.length > 0) return statusBadge('failed');
    if (s.figures) return statusBadge('passed');
    if (s.startedAt && ended(p)) return statusBadge('stopped'); // ended before its gates were judged
    if (s.startedAt) return statusBadge(p.status === 'paused' ? 'paused' : 'running');
    return p.status === 'awaiting_approval' && s.step === p.step ? statusBadge('awaiting_approval') : '–';
  };
  return table<StepRecord>(
    `Steps of rollout ${p.spec.id}`,
    [
      { label: 'Step', cell: (s) => `${s.step + 1}/${p.spec.steps.length}` },
      { label: 'Canary', cell: (s) => pct(s.canary), numeric: true },
      { label: 'State', cell: state },
      { label: 'Started', cell: (s) => (s.startedAt ? fmt.time(s.startedAt) : '–') },
      { label: 'Samples', cell: (s) => fmt.int(s.figures?.samples), numeric: true },
      {
        label: 'Error rate',
        cell: (s) => (s.figures?.errorRate == null ? '–' : `${fmt.num(s.figures.errorRate * 100)} %`),
        numeric: true,
      },
      { label: 'p99', cell: (s) => fmt.ms(s.figures?.p99Ms), numeric: true },
      {
        label: 'Mean distance',
        cell: (s) => (s.figures ? `${fmt.num(s.figures.meanDiff)} (${fmt.int(s.figures.pairs)} pairs)` : '–'),
        numeric: true,
      },
      {
        label: 'Failed gates',
        cell: (s) =>
          s.failures.length === 0
            ? s.figures
              ? 'none'
              : '–'
            : h(
                'ul',
                { class: 'plain problems' },
                ...s.failures.map((f) => h('li', {}, `${f.gate}: ${f.message}`)),
              ),
      },
    ],
    planned,
    'No step yet.',
  );
}

/** `manual`, and once given, who approved, when and why; `auto`. */
function approvalText(p: RolloutProgress): string {
  const a = p.approved;
  if (!a) return p.spec.approval;
  return `${p.spec.approval}: approved by ${a.actor} at ${fmt.time(a.at)}${a.reason ? ` (${a.reason})` : ''}`;
}

/** The rollout's status, spec and steps; `actions` are the buttons its status allows. */
export function rolloutDetail(p: RolloutProgress, actions: HTMLElement[], headingId: string): HTMLElement {
  return h(
    'div',
    { class: 'rollout' },
    h('h3', { id: headingId }, `Rollout ${p.spec.id} `, statusBadge(p.status)),
    figures([
      ['Version', `${p.spec.model}@${p.spec.version}`],
      ['Champion before', p.champion],
      ['Step', `${p.step + 1} of ${p.spec.steps.length} (${p.spec.steps.map(pct).join(' → ')})`],
      ['Step time', fmt.seconds(p.spec.stepSeconds)],
      ['Shadow', pct(p.spec.shadow)],
      ['Approval', approvalText(p)],
      ['Gates', gatesText(p.spec.gates)],
      ['Started', `${fmt.time(p.startedAt)} by ${p.spec.actor}`],
      ['Ended', fmt.time(p.endedAt)],
    ]),
    p.outcome ? h('p', { class: 'outcome' }, 'Outcome: ', p.outcome) : null,
    actions.length > 0 ? h('div', { class: 'actions-row' }, ...actions) : null,
    stepsTable(p),
  );
}

export function rolloutsTable(deployment: string, list: RolloutProgress[]): HTMLElement {
  return table<RolloutProgress>(
    `Rollouts of ${deployment}, newest first`,
    [
      { label: 'Rollout', cell: (p) => p.spec.id },
      { label: 'Version', cell: (p) => p.spec.version },
      { label: 'Status', cell: (p) => statusBadge(p.status) },
      { label: 'Steps', cell: (p) => `${p.steps.length}/${p.spec.steps.length}`, numeric: true },
      { label: 'Started', cell: (p) => fmt.time(p.startedAt) },
      { label: 'Ended', cell: (p) => fmt.time(p.endedAt) },
      { label: 'Outcome', cell: (p) => p.outcome ?? '–' },
    ],
    list,
    'No rollout yet.',
  );
}

/** The routing history as a timeline, newest change first. */
export function historyTimeline(deployment: string, changes: HistoryEntry[]): HTMLElement {
  if (changes.length === 0) return h('p', { class: 'empty' }, 'No routing change yet: production answers.');
  return h(
    'ol',
    // It scrolls past 24rem, so it takes keyboard focus.
    { class: 'timeline', 'aria-label': `Routing history of ${deployment}, newest first`, tabindex: 0 },
    ...[...changes]
      .reverse()
      .map((c) =>
        h(
          'li',
          {},
          h('time', { datetime: c.changedAt }, fmt.time(c.changedAt)),
          h('span', { class: 'rev' }, ` r${c.revision} `),
          h('strong', {}, routingSummary(c.state)),
          h('br', {}),
          h('span', { class: 'who' }, `${c.actor}: ${c.reason}`),
        ),
      ),
  );
}

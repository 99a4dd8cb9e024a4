/**
 * The Rollouts page's actions, each confirmed in a dialog first and sent with the API key (and `X-Actor:
 * dashboard`, so the routing history says where the change came from): start a rollout, approve, reject, pause,
 * resume or abort it, and set or clear a challenger with its shares.
 */
import { postJson } from '../api.js';
import { confirmAction } from '../confirm.js';
import { h, toast } from '../dom.js';
import { ended } from './rollout-view.js';
import type { RolloutProgress, RoutingState } from './shapes.js';

const ACTOR = { 'x-actor': 'dashboard' };
const REASON = { label: 'Reason (optional, kept in the routing history)', value: '' };

/** The deployment's base path and an id prefix unique on the page. */
export interface Target {
  name: string;
  base: string;
  prefix: string;
  /** Called after the API accepted a change (the page then refetches). */
  changed(): void;
}

function field(id: string, label: string, input: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

const numberInput = (id: string, value: string, attrs: Record<string, string | number> = {}) =>
  h('input', { id, type: 'number', value, inputmode: 'decimal', step: 'any', ...attrs });

const optionalNumber = (input: HTMLInputElement) => (input.value === '' ? undefined : Number(input.value));

/** Confirms, then posts; a refusal (400, 409) is shown with the API's own words. */
async function confirmAndPost(
  t: Target,
  dialog: { title: string; body: string; action: string },
  path: string,
  body: (reason: string) => unknown,
  done: string,
): Promise<void> {
  const reason = await confirmAction({ ...dialog, field: REASON });
  if (reason === null) return;
  try {
    await postJson(path, body(reason.trim()), ACTOR);
    toast(done);
    t.changed();
  } catch (err) {
    toast(`Refused: ${(err as Error).message}`);
  }
}

const withReason = (reason: string) => (reason ? { reason } : {});

/** The buttons a rollout's status allows: approve/reject while it waits, pause/resume, abort until it ends. */
export function rolloutActions(t: Target, p: RolloutProgress): HTMLElement[] {
  const id = p.spec.id;
  const button = (action: string, label: string, what: string, primary = false) =>
    h(
      'button',
      {
        type: 'button',
        class: primary ? 'primary' : 'secondary',
        onclick: () =>
          void confirmAndPost(
            t,
            { title: `${label} rollout ${id}`, body: what, action: label },
            `${t.base}/rollouts/${encodeURIComponent(id)}/${action}`,
            withReason,
            `Rollout ${id}: ${action} accepted.`,
          ),
      },
      `${label}…`,
    );
  const out: HTMLElement[] = [];
  if (p.status === 'awaiting_approval') {
    out.push(button('approve', 'Approve', `Go on to the 100 % step of version ${p.spec.version}?`, true));
    out.push(button('reject', 'Reject', `Roll back to champion ${p.champion} and end the rollout?`));
  }
  if (p.status === 'running') out.push(button('pause', 'Pause', 'Stop the step timer where it is?'));
  if (p.status === 'paused') out.push(button('resume', 'Resume', 'Let the step timer run again?'));
  if (!ended(p))
    out.push(
      button('abort', 'Abort', `Drop version ${p.spec.version} and give all traffic to the champion?`),
    );
  return out;
}

/** Start a progressive rollout: version, steps, step time, shadow share, gates, approval. */
export function startRolloutForm(t: Target, routing: RoutingState, versions: string[]): HTMLElement {
  const id = (s: string) => `${t.prefix}-start-${s}`;
  const candidates = versions.filter((v) => v !== routing.champion);
  const version = h('select', { id: id('version') }, ...candidates.map((v) => h('option', { value: v }, v)));
  const steps = h('input', { id: id('steps'), value: '5, 25, 50, 100', autocomplete: 'off' });
  const seconds = numberInput(id('seconds'), '300', { min: 1 });
  const shadow = numberInput(id('shadow'), '10', { min: 0, max: 100 });
  const errorRate = numberInput(id('error-rate'), '0.01', { min: 0, max: 1 });
  const p99 = numberInput(id('p99'), '', { min: 0 });
  const meanDiff = numberInput(id('mean-diff'), '', { min: 0 });
  const minSamples = numberInput(id('min-samples'), '20', { min: 0, step: 1 });
  const approval = h(
    'select',
    { id: id('approval') },
    h('option', { value: 'manual' }, 'manual (wait before 100 %)'),
    h('option', { value: 'auto' }, 'auto'),
  );
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': `Start a rollout of ${t.name}` },
    field(id('version'), 'Version', version),
    field(id('steps'), 'Canary steps (%)', steps),
    field(id('seconds'), 'Step seconds', seconds),
    field(id('shadow'), 'Shadow (%)', shadow),
    field(id('error-rate'), 'Max error rate', errorRate),
    field(id('p99'), 'Max p99 (ms)', p99),
    field(id('mean-diff'), 'Max mean distance', meanDiff),
    field(id('min-samples'), 'Min samples', minSamples),
    field(id('approval'), 'Approval', approval),
    h(
      'button',
      { type: 'submit', class: 'primary', disabled: candidates.length === 0 || routing.rollout !== null },
      'Start rollout…',
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const plan = steps.value
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    const gates = Object.fromEntries(
      Object.entries({
        max_error_rate: optionalNumber(errorRate),
        max_p99_ms: optionalNumber(p99),
        max_mean_diff: optionalNumber(meanDiff),
        min_samples: optionalNumber(minSamples),
      }).filter(([, v]) => v !== undefined),
    );
    void confirmAndPost(
      t,
      {
        title: `Start a rollout of ${t.name}`,
        body:
          `Roll out version ${version.value} over canary steps ${plan.join(' → ')} % of ${seconds.value} s each, ` +
          `shadowing ${shadow.value} % (approval ${approval.value})? Traffic moves to it as the steps pass.`,
        action: 'Start rollout',
      },
      `${t.base}/rollouts`,
      (reason) => ({
        version: version.value,
        steps: plan,
        step_seconds: Number(seconds.value),
        shadow: Number(shadow.value),
        gates,
        approval: approval.value,
        ...withReason(reason),
      }),
      `Rollout of version ${version.value} started on ${t.name}.`,
    );
  });
  return form;
}

/** Set a challenger with its canary and shadow shares (and a sticky key), or clear it. */
export function challengerForm(t: Target, routing: RoutingState, versions: string[]): HTMLElement {
  const id = (s: string) => `${t.prefix}-route-${s}`;
  const candidates = versions.filter((v) => v !== routing.champion);
  const version = h(
    'select',
    { id: id('version') },
    ...candidates.map((v) => h('option', { value: v, selected: v === routing.challenger }, v)),
  );
  const canary = numberInput(id('canary'), String(routing.canary), { min: 0, max: 100 });
  const shadow = numberInput(id('shadow'), String(routing.shadow), { min: 0, max: 100 });
  const stickyKind = h(
    'select',
    { id: id('sticky-kind') },
    h('option', { value: '' }, 'none'),
    h('option', { value: 'field' }, 'record field'),
    h('option', { value: 'header' }, 'request header'),
  );
  const stickyName = h('input', { id: id('sticky-name'), autocomplete: 'off' });
  const current = routing.sticky;
  if (current) {
    stickyKind.value = 'field' in current ? 'field' : 'header';
    stickyName.value = 'field' in current ? current.field : current.header;
  }
  const route = (title: string, body: string, patch: Record<string, unknown>, done: string) =>
    void confirmAndPost(
      t,
      { title, body, action: title },
      `${t.base}/routing`,
      (r) => ({ ...patch, ...withReason(r) }),
      done,
    );
  const clear = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      disabled: routing.challenger === null || routing.rollout !== null,
      onclick: () =>
        route(
          'Clear challenger',
          `Give all of ${t.name}'s traffic to champion ${routing.champion} and stop shadowing?`,
          { challenger: null, sticky: null },
          `${t.name}: challenger cleared.`,
        ),
    },
    'Clear challenger…',
  );
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': `Set the challenger of ${t.name}` },
    field(id('version'), 'Challenger', version),
    field(id('canary'), 'Canary (%)', canary),
    field(id('shadow'), 'Shadow (%)', shadow),
    field(id('sticky-kind'), 'Sticky key', stickyKind),
    field(id('sticky-name'), 'Sticky name', stickyName),
    h(
      'button',
      { type: 'submit', class: 'primary', disabled: candidates.length === 0 || routing.rollout !== null },
      'Set challenger…',
    ),
    clear,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const sticky = stickyKind.value && stickyName.value ? { [stickyKind.value]: stickyName.value } : null;
    route(
      'Set challenger',
      `Make version ${version.value} the challenger of ${t.name}: it answers ${canary.value} % of calls and ` +
        `also scores ${shadow.value} % of the champion's?`,
      { challenger: version.value, canary: Number(canary.value), shadow: Number(shadow.value), sticky },
      `${t.name}: challenger ${version.value} set.`,
    );
  });
  return form;
}

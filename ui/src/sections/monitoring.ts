/**
 * Monitoring: per deployment, performance per mode and version over time (a chart per mode, MAE or accuracy by
 * window, and a table), drift as a heatmap of PSI per feature and window, the alerts, and "Compute drift…". Live:
 * each alert is announced on NOTIFY monitoring_alerts (relayed by GET /ui/api/monitoring/alerts/events), and the
 * page then reads the deployment's drift again.
 */
import { followSse, getJson, postJson } from '../api.js';
import { chart, type Chart } from '../chart.js';
import { confirmAction } from '../confirm.js';
import { fill, fmt, h, panel, toast } from '../dom.js';
import {
  alertsTable,
  chartedMetric,
  driftHeatmap,
  heatmapLegend,
  performanceTable,
} from './monitoring-view.js';
import type { Deployment, DriftWindow, MonitoringAlert, PerformanceAnswer } from './shapes.js';
import { throttle, type Section } from './types.js';

const COLORS = ['#1f5fbf', '#b34700', '#2e7d32', '#7b1fa2', '#00695c', '#5d4037'];
const MODES = ['batch', 'online', 'streaming'] as const;
const DAY = 86_400_000;
const dateOf = (t: number) => new Date(t).toISOString().slice(0, 10);

function field(id: string, label: string, input: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

/** One chart per mode that has rows, drawn into `slot`: the charted figure per version, by window. */
function performanceCharts(slot: HTMLElement, prefix: string, answer: PerformanceAnswer): Chart[] {
  slot.replaceChildren();
  const metric = chartedMetric(answer.task);
  const charts: Chart[] = [];
  for (const mode of MODES) {
    const rows = answer.rows.filter((r) => r.mode === mode);
    if (rows.length === 0) continue;
    const versions = [...new Set(rows.map((r) => r.version))].sort();
    const xs = [...new Set(rows.map((r) => Date.parse(r.window)))].sort((a, b) => a - b);
    const c = chart({
      id: `${prefix}-perf-${mode}`,
      caption: `${mode}: ${metric.label} per version by ${answer.window}`,
      series: versions.map((v, i) => ({
        label: `version ${v}`,
        color: COLORS[i % COLORS.length] ?? '#333',
        points: true,
      })),
      yLabel: metric.label,
      xPad: answer.window === 'day' ? 86_400 : 3600,
    });
    slot.append(c.figure); // in the page first, so the plot takes the width it has
    const ys = versions.map((v) =>
      xs.map((x) => {
        const row = rows.find((r) => r.version === v && Date.parse(r.window) === x);
        return row ? metric.pick(row) : null;
      }),
    );
    const summary = versions
      .map((v) => {
        const last = rows.filter((r) => r.version === v).at(-1);
        return `version ${v} ${fmt.num(last ? metric.pick(last) : null)} on ${last?.window.slice(0, 10) ?? '–'}`;
      })
      .join('; ');
    c.setData(
      [xs.map((x) => x / 1000), ...ys],
      `${xs.length} window${xs.length === 1 ? '' : 's'}; latest ${summary}`,
    );
    charts.push(c);
  }
  return charts;
}

/** One deployment's part of the page. */
function deploymentView(d: Deployment, signal: AbortSignal) {
  const base = `/deployments/${encodeURIComponent(d.name)}`;
  const prefix = `mon-${d.name.replace(/[^a-z0-9-]/gi, '-')}`;
  const id = (s: string) => `${prefix}-${s}`;
  const slots = {
    charts: h('div', {}),
    performance: h('div', {}),
    heatmap: h('div', {}),
    alerts: h('div', { id: id('alerts') }),
  };
  let charts: Chart[] = [];
  signal.addEventListener('abort', () => charts.forEach((c) => c.destroy()));

  const now = Date.now();
  const periodFrom = h('input', { id: id('perf-from'), type: 'date', value: dateOf(now - 30 * DAY) });
  const periodTo = h('input', { id: id('perf-to'), type: 'date', value: dateOf(now + DAY) });
  const windowSize = h(
    'select',
    { id: id('perf-window') },
    h('option', { value: 'day' }, 'day'),
    h('option', { value: 'hour' }, 'hour'),
  );
  const period = h(
    'form',
    { class: 'inline-form', 'aria-label': `Period of the performance of ${d.name}` },
    field(id('perf-from'), 'From', periodFrom),
    field(id('perf-to'), 'To, exclusive', periodTo),
    field(id('perf-window'), 'Window', windowSize),
    h('button', { type: 'submit', class: 'secondary' }, 'Show'),
  );

  const loadPerformance = async () => {
    const q = new URLSearchParams({
      from: `${periodFrom.value}T00:00:00Z`,
      to: `${periodTo.value}T00:00:00Z`,
      window: windowSize.value,
    });
    try {
      const answer = await getJson<PerformanceAnswer>(`${base}/metrics?${q}`, { signal });
      charts.forEach((c) => c.destroy());
      charts = performanceCharts(slots.charts, prefix, answer);
      fill(slots.performance, performanceTable(d.name, answer));
    } catch (err) {
      if (signal.aborted) return;
      fill(slots.charts);
      fill(
        slots.performance,
        h('p', { class: 'empty' }, `No performance figures: ${(err as Error).message}`),
      );
    }
  };
  period.addEventListener('submit', (event) => {
    event.preventDefault();
    void loadPerformance();
  });

  const loadDrift = async () => {
    try {
      const { windows, alerts } = await getJson<{ windows: DriftWindow[]; alerts: MonitoringAlert[] }>(
        `${base}/drift`,
        { signal },
      );
      const threshold = windows[0]?.threshold;
      fill(
        slots.heatmap,
        threshold !== undefined ? heatmapLegend(threshold) : null,
        driftHeatmap(d.name, windows),
      );
      fill(slots.alerts, alertsTable(d.name, alerts));
    } catch (err) {
      if (signal.aborted) return;
      fill(slots.heatmap, h('p', { class: 'empty' }, `No drift figures: ${(err as Error).message}`));
      fill(slots.alerts);
    }
  };
  const reloadDrift = throttle(300, loadDrift);

  const element = panel(
    prefix,
    d.name,
    h('h3', {}, 'Performance per version over time'),
    period,
    slots.charts,
    slots.performance,
    h('h3', {}, 'Drift per feature'),
    slots.heatmap,
    d.modes.includes('batch') ? computeDriftForm(d.name, base, id, () => void loadDrift()) : null,
    h('h3', { id: id('alerts-title') }, 'Alerts'),
    slots.alerts,
  );
  return {
    element,
    load: () => Promise.all([loadPerformance(), loadDrift()]),
    reloadDrift,
  };
}

/** "Compute drift…": a window of the batch source against the card's reference, confirmed first. */
function computeDriftForm(
  name: string,
  base: string,
  id: (s: string) => string,
  computed: () => void,
): HTMLElement {
  const yesterday = dateOf(Date.now() - DAY);
  const from = h('input', { id: id('drift-from'), type: 'date', value: yesterday, required: true });
  const to = h('input', { id: id('drift-to'), type: 'date', value: dateOf(Date.now()), required: true });
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': `Compute drift of ${name}` },
    field(id('drift-from'), 'Window from', from),
    field(id('drift-to'), 'To, exclusive', to),
    h('button', { type: 'submit', class: 'primary' }, 'Compute drift…'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const window = { from: `${from.value}T00:00:00`, to: `${to.value}T00:00:00` };
      const ok = await confirmAction({
        title: `Compute drift of ${name}`,
        body:
          `Compare the batch source over [${from.value}, ${to.value}) with the card's reference profile? ` +
          'The window is stored (replacing an earlier one) and raises an alert if a feature drifted.',
        action: 'Compute drift',
      });
      if (ok === null) return;
      try {
        const w = await postJson<DriftWindow>(`${base}/drift`, window);
        const what = w.drifted.length > 0 ? `drifted: ${w.drifted.join(', ')}` : 'no feature drifted';
        toast(`Drift of ${name} over ${from.value}: ${fmt.int(w.rows)} rows, ${what}.`);
        computed();
      } catch (err) {
        toast(`Not computed: ${(err as Error).message}`);
      }
    })();
  });
  return form;
}

export const monitoring: Section = {
  id: 'monitoring',
  path: '/ui/monitoring',
  title: 'Monitoring',
  async render({ root, signal }) {
    const { deployments } = await getJson<{ deployments: Deployment[] }>('/deployments', { signal });
    const views = new Map(
      deployments.filter((d) => d.status === 'ready').map((d) => [d.name, deploymentView(d, signal)]),
    );
    const live = h('p', { class: 'live', id: 'monitoring-live' }, 'Live updates: connecting…');
    fill(
      root,
      h('h1', {}, 'Monitoring'),
      live,
      views.size === 0 ? h('p', { class: 'empty' }, 'No ready deployment.') : null,
      ...[...views.values()].map((v) => v.element),
    );
    await Promise.all([...views.values()].map((v) => v.load()));

    let connected = false;
    void followSse(
      '/ui/api/monitoring/alerts/events',
      (m) => {
        if (m.event === 'alert') {
          const { deployment } = JSON.parse(m.data) as { deployment?: string };
          views.get(deployment ?? '')?.reloadDrift();
        } else if (m.event === 'ready' && connected) {
          // A reconnection: alerts raised while away were not announced.
          for (const v of views.values()) v.reloadDrift();
        }
        if (m.event === 'ready') connected = true;
      },
      signal,
      (state) =>
        (live.textContent =
          state === 'open' ? 'Live updates: on (a new alert shows at once)' : 'Live updates: reconnecting…'),
    );
  },
};

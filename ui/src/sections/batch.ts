/**
 * Batch runs: the ledger as a table (partition, version, rows, rejected, duration, status, a link to the run in the
 * Temporal Web UI), rows/s per run and the error metric per version per partition day as charts, a form to start a
 * run, and live changes from NOTIFY batch_runs and batch_progress (a running run's rows, share and rows/s).
 */
import { followSse, getJson, postJson } from '../api.js';
import { chart } from '../chart.js';
import { confirmAction } from '../confirm.js';
import { fill, fmt, h, panel, toast } from '../dom.js';
import { rowsPerSecond, showRuns } from './batch-runs-table.js';
import type { BatchProgressEvent, BatchRun, Deployment } from './shapes.js';
import { throttle, type Section } from './types.js';

const COLORS = ['#1f5fbf', '#b34700', '#2e7d32', '#7b1fa2', '#00695c', '#5d4037'];

/** The runs of one day partition with labelled rows: MAE (regression) or accuracy (classification). */
const ERROR_METRICS = [
  { key: 'mae', label: 'MAE', caption: 'MAE per version by partition day (runs with labelled rows)' },
  {
    key: 'accuracy',
    label: 'accuracy',
    caption: 'Accuracy per version by partition day (runs with labelled rows)',
  },
] as const;
const DAY_PARTITION = /^\d{4}-\d{2}-\d{2}$/;

/** A chart whose series follow the data: drawn again when the set of series changes. */
function seriesChart(id: string, caption: string, yLabel: string) {
  let current = chart({ id, caption, series: [], yLabel });
  let names = '';
  const slot = h('div', {}, current.figure);
  return {
    slot,
    show(series: string[], data: Parameters<typeof current.setData>[0], summary: string) {
      slot.hidden = series.length === 0;
      if (series.join() !== names) {
        names = series.join();
        current.destroy();
        current = chart({
          id,
          caption,
          series: series.map((label, i) => ({
            label,
            color: COLORS[i % COLORS.length] ?? '#333',
            points: true,
          })),
          yLabel,
          xPad: 86_400,
        });
        fill(slot, current.figure);
      }
      current.setData(data, summary);
    },
    destroy: () => current.destroy(),
  };
}

/** Per metric: one series per deployment and version, one point per day partition (its latest completed run). */
function errorByDay(runs: BatchRun[], key: (typeof ERROR_METRICS)[number]['key']) {
  const latest = new Map<string, BatchRun>();
  for (const r of runs) {
    if (r.status !== 'completed' || !DAY_PARTITION.test(r.partition) || r.metrics?.[key] === undefined)
      continue;
    const id = `${r.deployment ?? r.model}@${r.version}|${r.partition}`;
    if (!latest.has(id)) latest.set(id, r); // runs come newest first
  }
  const chosen = [...latest.values()];
  const series = [...new Set(chosen.map((r) => `${r.deployment ?? r.model}@${r.version}`))].sort();
  const days = [...new Set(chosen.map((r) => r.partition))].sort();
  const ys = series.map((s) =>
    days.map((d) => {
      const r = latest.get(`${s}|${d}`);
      return r?.metrics?.[key] ?? null;
    }),
  );
  const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  return { series, data: [xs, ...ys] as [number[], ...(number | null)[][]], days, chosen };
}

function startForm(deployments: Deployment[], onStarted: () => void): HTMLElement {
  const batchable = deployments.filter((d) => d.status === 'ready' && d.modes.includes('batch'));
  const deployment = h(
    'select',
    { id: 'run-deployment' },
    ...batchable.map((d) => h('option', { value: d.name }, d.name)),
  );
  const from = h('input', { id: 'run-from', type: 'date' });
  const to = h('input', { id: 'run-to', type: 'date' });
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': 'Start a batch run' },
    h('div', { class: 'field' }, h('label', { for: 'run-deployment' }, 'Deployment'), deployment),
    h('div', { class: 'field' }, h('label', { for: 'run-from' }, 'From (optional)'), from),
    h('div', { class: 'field' }, h('label', { for: 'run-to' }, 'To, exclusive (optional)'), to),
    h('button', { type: 'submit', class: 'primary' }, 'Start run…'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const range = from.value && to.value ? ` over [${from.value}, ${to.value})` : ' over its whole table';
      const ok = await confirmAction({
        title: 'Start a batch run',
        body: `Score ${deployment.value}${range}? The run writes its predictions and a batch_runs row.`,
        action: 'Start run',
      });
      if (ok === null) return;
      try {
        const body = {
          deployment: deployment.value,
          ...(from.value ? { from: from.value } : {}),
          ...(to.value ? { to: to.value } : {}),
        };
        const started = await postJson<{ workflowId: string }>('/batch-runs', body);
        toast(`Started ${started.workflowId}.`);
        onStarted();
      } catch (err) {
        toast(`Not started: ${(err as Error).message}`);
      }
    })();
  });
  return form;
}

export const batch: Section = {
  id: 'batch',
  path: '/ui/batch',
  title: 'Batch runs',
  async render({ root, signal }) {
    const speed = chart({
      id: 'batch-speed',
      caption: 'Rows per second of each completed run',
      series: [],
      yLabel: 'rows/s',
    });
    const tableSlot = h('div', { id: 'batch-table' });
    const live = h('p', { class: 'live', id: 'batch-live' }, 'Live updates: connecting…');
    const { deployments } = await getJson<{ deployments: Deployment[] }>('/deployments', { signal });
    let speedChart = speed;
    const chartSlot = h('div', {}, speed.figure);
    const noErrors = h(
      'p',
      { class: 'empty' },
      'No completed day run with labelled rows yet (the source needs its label column).',
    );
    const errorCharts = ERROR_METRICS.map((m) => ({
      metric: m,
      chart: seriesChart(`batch-${m.key}`, m.caption, m.label),
    }));

    const load = async () => {
      const { runs } = await getJson<{ runs: BatchRun[] }>('/ui/api/batch-runs?limit=500', { signal });
      shown = showRuns(tableSlot, runs);
      const done = runs.filter((r) => rowsPerSecond(r) !== null).reverse();
      const names = [...new Set(done.map((r) => r.deployment ?? r.model))];
      if (speedChart.figure.dataset.series !== names.join()) {
        speedChart.destroy();
        speedChart = chart({
          id: 'batch-speed',
          caption: 'Rows per second of each completed run',
          series: names.map((label, i) => ({
            label,
            color: COLORS[i % COLORS.length] ?? '#333',
            points: true,
          })),
          yLabel: 'rows/s',
        });
        speedChart.figure.dataset.series = names.join();
        fill(chartSlot, speedChart.figure);
      }
      const xs = done.map((r) => Date.parse(r.startedAt) / 1000);
      const ys = names.map((n) =>
        done.map((r) => ((r.deployment ?? r.model) === n ? rowsPerSecond(r) : null)),
      );
      const best = Math.max(0, ...done.map((r) => rowsPerSecond(r) ?? 0));
      speedChart.setData([xs, ...ys], `${done.length} completed runs, fastest ${fmt.int(best)} rows/s`);
      let charted = 0;
      for (const { metric, chart: c } of errorCharts) {
        const e = errorByDay(runs, metric.key);
        charted += e.series.length;
        const last = e.chosen[0];
        c.show(
          e.series,
          e.data,
          `${e.days.length} day${e.days.length === 1 ? '' : 's'}, ${e.series.length} version${e.series.length === 1 ? '' : 's'}` +
            (last
              ? `; newest ${last.partition} ${last.deployment ?? last.model}@${last.version} ${fmt.num(last.metrics?.[metric.key])}`
              : ''),
        );
      }
      noErrors.hidden = charted > 0;
    };
    const reload = throttle(300, load);
    let shown: ReturnType<typeof showRuns> | undefined;
    /** A chunk's progress updates its row in place; a run that starts, ends or is not shown yet reads the runs. */
    const onProgress = (e: BatchProgressEvent) => {
      if (e.status !== 'running' || !shown?.update(e)) reload();
    };

    fill(
      root,
      h('h1', {}, 'Batch runs'),
      panel('batch-start', 'Start a run', startForm(deployments, reload)),
      panel('batch-chart', 'Throughput', chartSlot),
      panel('batch-errors', 'Error per version per day', noErrors, ...errorCharts.map((e) => e.chart.slot)),
      panel('batch-runs', 'Runs', live, tableSlot),
    );
    await load();
    signal.addEventListener('abort', () => {
      speedChart.destroy();
      errorCharts.forEach((e) => e.chart.destroy());
    });
    let connected = false;
    void followSse(
      '/ui/api/batch-runs/events',
      (m) => {
        if (m.event === 'batch_run') reload();
        else if (m.event === 'progress') onProgress(JSON.parse(m.data) as BatchProgressEvent);
        else if (m.event === 'ready' && connected) reload(); // back after a drop: catch up
        if (m.event === 'ready') connected = true;
      },
      signal,
      (state) =>
        (live.textContent =
          state === 'open'
            ? 'Live updates: on (a run that starts or ends shows at once, a running one as its chunks commit)'
            : 'Live updates: reconnecting…'),
    );
  },
};

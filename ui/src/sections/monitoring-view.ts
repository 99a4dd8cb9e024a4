/**
 * How the Monitoring page draws what the monitoring API answers: performance per mode, version and window as a
 * table (the charts are built by the page), drift as a heatmap of PSI per feature and window (a table whose cells
 * hold the value as text; the colour only repeats it), and the alerts. Pure rendering.
 */
import { fmt, h, table } from '../dom.js';
import type { DriftWindow, MonitoringAlert, PerformanceAnswer, PerformanceRow } from './shapes.js';

/** At most this many windows in the heatmap (the newest). */
export const HEATMAP_WINDOWS = 60;

const num3 = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toFixed(3));
const pct = (n: number | null | undefined) => (n === null || n === undefined ? '–' : `${fmt.num(n * 100)} %`);

/** A window's bounds in words: a whole day by its date, anything else as [from, to). */
export function windowText(from: string, to: string): string {
  const day = from.slice(0, 10);
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  if (from.startsWith(`${day}T00:00:00`) && to.startsWith(`${next}T00:00:00`)) return day;
  return `${from.replace('-infinity', 'start')} – ${to.replace('infinity', 'end')}`;
}

/** The figure a mode's chart draws: MAE for a regression, accuracy for a classifier. */
export const chartedMetric = (task: PerformanceAnswer['task']) =>
  task === 'regression'
    ? { label: 'MAE', pick: (r: PerformanceRow) => r.mae ?? null }
    : { label: 'accuracy', pick: (r: PerformanceRow) => r.accuracy ?? null };

export function performanceTable(name: string, answer: PerformanceAnswer): HTMLElement {
  const regression = answer.task === 'regression';
  const range = answer.target_range ? ` ${answer.target_range[0]}–${answer.target_range[1]}` : '';
  return table<PerformanceRow>(
    `Performance of ${name} per mode, version and ${answer.window}`,
    [
      { label: 'Mode', cell: (r) => r.mode },
      { label: 'Version', cell: (r) => r.version },
      {
        label: 'Window',
        cell: (r) => (answer.window === 'day' ? r.window.slice(0, 10) : fmt.time(r.window)),
      },
      { label: 'Labelled', cell: (r) => fmt.int(r.labelled), numeric: true },
      ...(regression
        ? [
            { label: 'MAE', cell: (r: PerformanceRow) => num3(r.mae), numeric: true },
            { label: 'RMSE', cell: (r: PerformanceRow) => num3(r.rmse), numeric: true },
            {
              label: `MAE in range${range}`,
              cell: (r: PerformanceRow) => num3(r.inRange?.mae),
              numeric: true,
            },
            {
              label: 'Labelled in range',
              cell: (r: PerformanceRow) => fmt.int(r.inRange?.labelled),
              numeric: true,
            },
          ]
        : [
            { label: 'Accuracy', cell: (r: PerformanceRow) => pct(r.accuracy), numeric: true },
            {
              label: 'Recall per class',
              cell: (r: PerformanceRow) =>
                (r.perClass ?? []).map((c) => `${c.label} ${pct(c.recall)} (${c.labelled})`).join(', '),
            },
          ]),
    ],
    answer.rows,
    'No labelled predictions in this period: send labels with POST /deployments/{name}/feedback.',
  );
}

/** PSI as a share of the threshold, in five steps: the cell's colour class. */
export function psiLevel(psi: number, threshold: number): number {
  const r = threshold > 0 ? psi / threshold : psi;
  return r <= 0.25 ? 0 : r <= 0.5 ? 1 : r <= 1 ? 2 : r <= 2 ? 3 : 4;
}

export function heatmapLegend(threshold: number): HTMLElement {
  const t = (x: number) => fmt.num(x * threshold);
  const steps = [
    `≤ ${t(0.25)}`,
    `≤ ${t(0.5)}`,
    `≤ ${t(1)} (threshold)`,
    `> ${t(1)}, drifted`,
    `> ${t(2)}, drifted`,
  ];
  return h(
    'div',
    { class: 'heat-legend' },
    h(
      'p',
      {},
      `PSI per feature and window; a feature above the threshold ${fmt.num(threshold)} has drifted (▲).`,
    ),
    h(
      'ul',
      { class: 'plain heat-steps', 'aria-label': 'PSI colours' },
      ...steps.map((label, i) =>
        h('li', {}, h('span', { class: `heat heat-${i}`, 'aria-hidden': 'true' }, ' '), label),
      ),
    ),
  );
}

/** Features as rows, windows as columns (oldest first), PSI as text in each cell. */
export function driftHeatmap(name: string, windows: DriftWindow[]): HTMLElement {
  if (windows.length === 0)
    return h(
      'p',
      { class: 'empty' },
      'No drift window computed yet: compute one below, or let the monitoring schedule do it.',
    );
  const shown = windows.slice(0, HEATMAP_WINDOWS).reverse();
  const versions = new Set(shown.map((w) => w.version));
  const features = [...new Set(shown.flatMap((w) => w.features.map((f) => f.field)))];
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Feature'),
    ...shown.map((w) =>
      h(
        'th',
        { scope: 'col', class: 'num' },
        windowText(w.from, w.to),
        versions.size > 1 ? h('br', {}) : null,
        versions.size > 1 ? `v${w.version}` : null,
      ),
    ),
  );
  const rows = features.map((field) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, field),
      ...shown.map((w) => {
        const f = w.features.find((x) => x.field === field);
        if (!f) return h('td', { class: 'num' }, '–');
        const drifted = w.drifted.includes(field);
        return h(
          'td',
          {
            class: `num heat heat-${psiLevel(f.psi, w.threshold)}${drifted ? ' drifted' : ''}`,
            'data-field': field,
            'data-window': w.from,
          },
          h('span', { class: 'psi' }, f.psi.toFixed(3)),
          drifted ? h('span', { 'aria-label': 'drifted', role: 'img' }, ' ▲') : null,
        );
      }),
    ),
  );
  const rowsLine = h(
    'tr',
    {},
    h('th', { scope: 'row' }, 'Rows'),
    ...shown.map((w) => h('td', { class: 'num' }, fmt.int(w.rows))),
  );
  const caption = `Drift of ${name}: PSI per feature and window${windows.length > shown.length ? ` (the newest ${shown.length})` : ''}`;
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      { class: 'heatmap' },
      h('caption', {}, caption),
      h('thead', {}, head),
      h('tbody', {}, ...rows, rowsLine),
    ),
  );
}

export function alertsTable(name: string, alerts: MonitoringAlert[]): HTMLElement {
  return table<MonitoringAlert>(
    `Alerts of ${name}, newest first`,
    [
      { label: 'Raised', cell: (a) => fmt.time(a.raisedAt) },
      { label: 'Kind', cell: (a) => a.kind },
      { label: 'Version', cell: (a) => a.version },
      { label: 'Window', cell: (a) => windowText(a.from, a.to) },
      { label: 'Drifted', cell: (a) => (a.details?.drifted ?? []).join(', ') || '–' },
      { label: 'Threshold', cell: (a) => fmt.num(a.details?.threshold), numeric: true },
    ],
    alerts,
    'No alert.',
  );
}

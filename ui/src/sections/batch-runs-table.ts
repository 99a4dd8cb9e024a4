/**
 * The batch page's runs table and the live progress of running runs: rows read, a progress bar with its share and
 * chunks, and rows/s, updated in place from NOTIFY batch_progress (no redraw of the table, so its scroll and focus
 * stay). A multi-day run's row adds up its day children: their rows, and the days finished of its days.
 */
import { fill, fmt, h, statusBadge, table } from '../dom.js';
import type { BatchProgressEvent, BatchRun, RunProgress } from './shapes.js';

const DAY_MS = 86_400_000;

export const partitionText = (r: BatchRun) =>
  r.partition === '-infinity' || r.from.startsWith('-infinity') ? 'whole table' : r.partition;

export const rowsPerSecond = (r: BatchRun) =>
  r.durationS > 0 && r.status === 'completed' ? r.rowsScored / r.durationS : null;

/** What a running row shows: rows read, the share done (null: not known yet), and the words beside the bar. */
interface Shown {
  rows: number;
  share: number | null;
  text: string;
  perSecond: number | null;
}

/** The cells of a running row, kept to be updated in place. */
interface LiveCells {
  rows: HTMLElement;
  rate: HTMLElement;
  bar: HTMLProgressElement;
  text: HTMLElement;
}

const rateOf = (rows: number, r: BatchRun, at: string) => {
  const seconds = (Date.parse(at) - Date.parse(r.startedAt)) / 1000;
  return seconds > 0 ? rows / seconds : null;
};

/** The runs table with live progress cells; `update` applies a progress announcement to its row (and parent's). */
export function liveRunsTable(runs: BatchRun[]) {
  const progress = new Map<string, RunProgress>();
  for (const r of runs) if (r.progress) progress.set(r.runId, r.progress);
  const children = new Map<string, BatchRun[]>();
  for (const r of runs)
    if (r.parentRunId) children.set(r.parentRunId, [...(children.get(r.parentRunId) ?? []), r]);
  const cells = new Map<string, LiveCells>();

  const ownShown = (r: BatchRun): Shown => {
    const p = progress.get(r.runId);
    if (!p) return { rows: 0, share: null, text: 'planning…', perSecond: null };
    const share = p.rowsTotal ? Math.min(1, p.rowsDone / p.rowsTotal) : null;
    const chunks = p.chunksTotal
      ? `, chunk ${Math.min(p.chunksDone + 1, p.chunksTotal)} of ${p.chunksTotal}`
      : '';
    const of = p.rowsTotal !== null ? ` of ${fmt.int(p.rowsTotal)}` : '';
    const pct = share === null ? '' : `${Math.floor(share * 100)}% · `;
    return {
      rows: p.rowsDone,
      share,
      text: `${pct}${fmt.int(p.rowsDone)}${of} rows${chunks}`,
      perSecond: rateOf(p.rowsDone, r, p.at),
    };
  };
  /** A multi-day run: its days' rows added up, the share of its days finished. */
  const parentShown = (r: BatchRun, days: BatchRun[]): Shown => {
    const total = Math.max(1, Math.round((Date.parse(`${r.to}Z`) - Date.parse(`${r.from}Z`)) / DAY_MS));
    const finished = days.filter((d) => d.status !== 'running').length;
    const rows = days.reduce(
      (a, d) => a + (d.status === 'running' ? ownShown(d).rows : d.rowsScored + d.rowsRejected),
      0,
    );
    const latest =
      days
        .map((d) => progress.get(d.runId)?.at)
        .sort()
        .at(-1) ?? new Date().toISOString();
    return {
      rows,
      share: finished / total,
      text: `${Math.floor((finished / total) * 100)}% · ${finished} of ${total} days, ${fmt.int(rows)} rows`,
      perSecond: rateOf(rows, r, latest),
    };
  };
  const shown = (r: BatchRun): Shown => {
    const days = children.get(r.runId);
    return days ? parentShown(r, days) : ownShown(r);
  };

  const paint = (r: BatchRun) => {
    const c = cells.get(r.runId);
    if (!c) return;
    const s = shown(r);
    c.rows.textContent = fmt.int(s.rows);
    c.rate.textContent = fmt.int(s.perSecond);
    if (s.share === null) c.bar.removeAttribute('value');
    else c.bar.value = Math.round(s.share * 1000) / 10;
    c.text.textContent = s.text;
  };
  const cellsOf = (r: BatchRun): LiveCells => {
    let c = cells.get(r.runId);
    if (!c) {
      c = {
        rows: h('span', {}),
        rate: h('span', {}),
        bar: h('progress', { max: 100, 'aria-label': `Progress of the run of ${partitionText(r)}` }),
        text: h('span', { class: 'progress-text' }),
      };
      cells.set(r.runId, c);
    }
    return c;
  };
  const running = (r: BatchRun) => r.status === 'running';

  const element = table<BatchRun>(
    'Batch runs, newest first',
    [
      { label: 'Partition', cell: partitionText },
      { label: 'Deployment', cell: (r) => r.deployment ?? '–' },
      { label: 'Version', cell: (r) => `${r.model}@${r.version}` },
      {
        label: 'Rows',
        cell: (r) => (running(r) ? cellsOf(r).rows : fmt.int(r.rowsScored)),
        numeric: true,
      },
      { label: 'Rejected', cell: (r) => fmt.int(r.rowsRejected), numeric: true },
      { label: 'Duration', cell: (r) => fmt.seconds(r.durationS), numeric: true },
      {
        label: 'Rows/s',
        cell: (r) => (running(r) ? cellsOf(r).rate : fmt.int(rowsPerSecond(r))),
        numeric: true,
      },
      {
        label: 'Status',
        cell: (r) => [
          statusBadge(r.status),
          running(r) ? h('span', { class: 'run-progress' }, cellsOf(r).bar, cellsOf(r).text) : null,
          r.error ? h('span', { class: 'error' }, ` ${r.error}`) : null,
        ],
      },
      {
        label: 'Temporal',
        cell: (r) =>
          h(
            'a',
            {
              href: r.webUiUrl,
              target: '_blank',
              rel: 'noopener',
              'aria-label': `Open ${r.workflowId} in the Temporal Web UI`,
            },
            r.workflowId,
          ),
      },
    ],
    runs,
    'No batch run yet: start one below, or with POST /batch-runs.',
  );
  for (const r of runs) if (running(r)) paint(r);

  return {
    element,
    /** Applies a chunk's announcement; false when the run is not in this table (the caller reads the runs again). */
    update(e: BatchProgressEvent): boolean {
      const r = runs.find((x) => x.runId === e.runId);
      if (!r || !running(r)) return false;
      if (e.chunksDone === null) return true; // the ledger's start announcement: the row is there already
      const before = progress.get(e.runId);
      // Parallel chunks commit in any order: the count shown only grows.
      if (before && before.rowsDone > e.rowsDone) return true;
      progress.set(e.runId, {
        rowsDone: e.rowsDone,
        rowsTotal: e.rowsTotal,
        chunksDone: e.chunksDone,
        chunksTotal: e.chunksTotal,
        at: e.at,
      });
      paint(r);
      const parent = r.parentRunId ? runs.find((x) => x.runId === r.parentRunId) : undefined;
      if (parent) paint(parent);
      return true;
    },
  };
}

/** Puts the table in `slot`. */
export function showRuns(slot: HTMLElement, runs: BatchRun[]): ReturnType<typeof liveRunsTable> {
  const t = liveRunsTable(runs);
  fill(slot, t.element);
  return t;
}

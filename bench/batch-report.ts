/** The report of `bench:batch`: each side's runs summarised as median and range, the ratios, the printed table. */
import type { FloorResult } from './batch-floor.js';
import { machine } from './results-file.js';
import { formatSpread, spread, type Spread } from './batch-stats.js';
import type { WorkflowRun } from './batch-workflow.js';

export const SIDES = ['workflow', 'nodrift', 'inline', 'floor', 'pandas', 'numpy'] as const;
export type Side = (typeof SIDES)[number];

export interface SideRuns {
  workflow: WorkflowRun[];
  /** The same workflow with `drift: false`: what the partition's drift window costs a run. */
  nodrift: WorkflowRun[];
  /** The same workflow with BATCH_SCORING_THREAD=off: the ONNX runs on the worker's main thread. */
  inline: WorkflowRun[];
  floor: FloorResult[];
  pandas: Record<string, number>[];
  numpy: Record<string, number>[];
}

const seconds: { [S in Side]: (r: SideRuns[S][number]) => number } = {
  workflow: (r) => r.seconds,
  nodrift: (r) => r.seconds,
  inline: (r) => r.seconds,
  floor: (r) => (r.outMs + r.inMs) / 1000,
  pandas: (r) => r.total_s ?? NaN,
  numpy: (r) => r.total_s ?? NaN,
};

function label(side: Side, connections: number, pandasMethod: string): string {
  if (side === 'workflow') return 'batchScoring end to end (drift window on)';
  if (side === 'nodrift') return 'batchScoring, drift: false';
  if (side === 'inline') return 'batchScoring, scoring thread off';
  if (side === 'floor') return `COPY floor, binary, ${connections} connections (out + in)`;
  if (side === 'pandas')
    return `pandas read_sql + onnxruntime + to_sql(${pandasMethod === 'copy' ? 'COPY' : 'INSERT'})`;
  return 'numpy + binary COPY (psycopg 3, 2 connections)';
}

/** The run whose seconds are the median (the lower middle one for an even count). */
function medianRun<T>(runs: readonly T[], secondsOf: (r: T) => number): T | undefined {
  const sorted = [...runs].sort((a, b) => secondsOf(a) - secondsOf(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export interface ReportInput {
  rows: number;
  runs: SideRuns;
  input: Record<string, unknown> & { maxParallelChunks: number };
  skipped: string | undefined;
  pandasMethod: string;
}

export function buildReport(o: ReportInput) {
  const secs = {
    workflow: o.runs.workflow.map(seconds.workflow),
    nodrift: o.runs.nodrift.map(seconds.nodrift),
    inline: o.runs.inline.map(seconds.inline),
    floor: o.runs.floor.map(seconds.floor),
    pandas: o.runs.pandas.map(seconds.pandas),
    numpy: o.runs.numpy.map(seconds.numpy),
  };
  const connections = o.runs.floor[0]?.connections ?? o.input.maxParallelChunks;
  const side = <T>(s: Side, runs: readonly T[]) => {
    const sp = spread(secs[s]);
    return {
      name: label(s, connections, o.pandasMethod),
      seconds: sp,
      rowsPerSecond: spread(secs[s].map((x) => o.rows / x)),
      runs,
    };
  };
  const skipped = (s: Side) => ({
    name: label(s, connections, o.pandasMethod),
    skipped: o.skipped ?? 'not run',
  });
  const wf = spread(secs.workflow);
  /** Other side over the workflow: ratio of the medians, and the range of the per-round ratios. */
  const ratio = (s: Exclude<Side, 'workflow'>) => {
    const other: Spread = spread(secs[s]);
    return {
      ofMedians: other.median / wf.median,
      perRound: spread(secs[s].map((x, i) => x / (secs.workflow[i] ?? NaN))),
    };
  };
  return {
    bench: 'batch',
    at: new Date().toISOString(),
    machine: machine(),
    rows: o.rows,
    rounds: o.runs.workflow.length,
    input: o.input,
    workflow: {
      ...side('workflow', o.runs.workflow),
      medianRun: medianRun(o.runs.workflow, seconds.workflow),
    },
    driftOff: o.runs.nodrift.length ? side('nodrift', o.runs.nodrift) : skipped('nodrift'),
    threadOff: o.runs.inline.length ? side('inline', o.runs.inline) : skipped('inline'),
    copyFloor: side('floor', o.runs.floor),
    pandas: o.runs.pandas.length ? side('pandas', o.runs.pandas) : skipped('pandas'),
    numpyCopy: o.runs.numpy.length ? side('numpy', o.runs.numpy) : skipped('numpy'),
    ratios: {
      pandasOverWorkflow: ratio('pandas'),
      numpyCopyOverWorkflow: ratio('numpy'),
      floorOverWorkflow: ratio('floor'),
      driftOffOverWorkflow: ratio('nodrift'),
      threadOffOverWorkflow: ratio('inline'),
    },
    targets: {
      endToEndRowsPerSecond: { target: 100_000, measured: o.rows / wf.median },
      vsPandas: { target: 5, measured: spread(secs.pandas).median / wf.median },
      vsCopyFloor: { target: 0.4, measured: spread(secs.floor).median / wf.median },
      /** Throughput lost to the drift window: 1 - (rows/s with drift) / (rows/s without), of the medians. */
      driftCost: { target: 0.1, measured: 1 - spread(secs.nodrift).median / wf.median },
    },
  };
}

export type BatchReport = ReturnType<typeof buildReport>;

export function printTable(r: BatchReport): void {
  const lines: string[][] = [['what', 'seconds: median [min-max]', 'rows/s', 'x workflow']];
  const row = (name: string, s: Spread, x = '') =>
    lines.push([name, formatSpread(s), s.runs ? Math.round(r.rows / s.median).toString() : '', x]);
  row(`${r.workflow.name} (${r.rounds} runs)`, r.workflow.seconds);
  const m = r.workflow.medianRun;
  if (m) {
    for (const [name, s] of Object.entries(m.steps))
      lines.push([`  ${name} (x${s.count}, busy; median run)`, (s.busyMs / 1000).toFixed(2), '', '']);
    lines.push([
      '  worker process CPU (rows per CPU-s)',
      m.workerCpuSeconds.toFixed(2),
      Math.round(m.rowsPerWorkerCpuSecond).toString(),
      '',
    ]);
    lines.push(['  inside chunks: scorer', (m.scoreMs / 1000).toFixed(2), '', '']);
    lines.push(['  inside chunks: Postgres read+write', (m.postgresInChunksMs / 1000).toFixed(2), '', '']);
    lines.push([
      `  WAL ${Math.round(m.wal.walMb)} MB, ${m.wal.walFpi} full-page images, ${m.wal.checkpoints} checkpoints`,
    ]);
  }
  const ratioText = (x: { ofMedians: number; perRound: Spread }) =>
    x.perRound.runs
      ? `${x.ofMedians.toFixed(2)} [${x.perRound.min.toFixed(2)}-${x.perRound.max.toFixed(2)}]`
      : '';
  for (const [side, x] of [
    [r.driftOff, r.ratios.driftOffOverWorkflow],
    [r.threadOff, r.ratios.threadOffOverWorkflow],
    [r.copyFloor, r.ratios.floorOverWorkflow],
    [r.pandas, r.ratios.pandasOverWorkflow],
    [r.numpyCopy, r.ratios.numpyCopyOverWorkflow],
  ] as const) {
    if ('skipped' in side) lines.push([`${side.name}: skipped (${side.skipped})`]);
    else row(side.name, side.seconds, ratioText(x));
  }
  const widths = [52, 26, 10, 18];
  for (const l of lines) {
    const [first = '', ...rest] = l;
    process.stdout.write(
      `${first.padEnd(widths[0] ?? 0)}${rest.map((c, i) => c.padStart(widths[i + 1] ?? 0)).join('')}\n`,
    );
  }
  const scored = [
    `workflow ${r.workflow.medianRun?.summary.rowsScored ?? '-'}`,
    ...(['pandas', 'numpyCopy'] as const).map((k) => {
      const s = r[k];
      return `${k} ${'skipped' in s ? '-' : (s.runs[0]?.scored ?? '-')}`;
    }),
  ];
  process.stdout.write(`rows scored: ${scored.join(', ')} (the same rows are valid for every side)\n`);
  process.stdout.write(
    "x workflow: that side's median over the workflow's median [range of the per-round ratios]\n",
  );
  if (!('skipped' in r.driftOff))
    process.stdout.write(
      `drift window: costs ${(100 * r.targets.driftCost.measured).toFixed(1)} % of the run's throughput (median with drift over median without; target at most 10 %)\n`,
    );
  if (!('skipped' in r.numpyCopy))
    process.stdout.write(
      `against numpy + binary COPY: the workflow reaches ${(100 * r.ratios.numpyCopyOverWorkflow.ofMedians).toFixed(0)} % of its rows/s (target at least 90 %)\n`,
    );
}

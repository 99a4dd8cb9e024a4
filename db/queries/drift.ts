/**
 * Reference profiles and drift, aggregated in Postgres (no row comes to the process). The rows are a sample: a FROM
 * clause and its filter (a batch source window, a sink's predictions, a window of online or stream predictions),
 * and each profiled column an SQL expression over it. A numeric column is binned by deciles of the reference
 * (width_bucket over its inner edges), a text column by its most frequent values (the rest as one "(other)" bin).
 * Every column's histogram comes from one scan of the sample. PSI compares the shares bin by bin; KS is the largest
 * gap between the two binned cumulative shares (numeric columns).
 */
import type { BinCounts, DriftFeature, FieldProfile } from '../../contracts/monitoring.js';
import type { Pool, PoolClient } from '../pool.js';

type Queryable = Pool | PoolClient;

/** An SQL fragment; `arg` binds a value and returns its placeholder. */
export type Sql = (arg: (value: unknown) => string) => string;

/** The rows a profile or a window reads. */
export interface Sample {
  from: string;
  where: Sql;
}

export interface ProfiledColumn {
  field: string;
  kind: 'numeric' | 'categorical';
  /** The value, as float8 (numeric) or text (categorical); null is left out. */
  value: Sql;
}

export const OTHER = '(other)';
const TOP = 30;
const EPSILON = 1e-4;
const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

function build(parts: Sql): { text: string; args: unknown[] } {
  const args: unknown[] = [];
  const text = parts((value) => {
    args.push(value);
    return `$${args.length}`;
  });
  return { text, args };
}

/** Rows of the sample, and per column the count of each bin (numeric: width_bucket index over `edges`). */
async function histograms(
  pool: Queryable,
  sample: Sample,
  columns: readonly (ProfiledColumn & { edges?: readonly number[] })[],
): Promise<{ rows: number; counts: Map<string, number>[] }> {
  const q = build((arg) => {
    const bins = columns.map((c, i) =>
      c.kind === 'numeric'
        ? `(${i}, width_bucket((${c.value(arg)})::float8, ${arg(c.edges ?? [])}::float8[])::text)`
        : `(${i}, (${c.value(arg)})::text)`,
    );
    return `SELECT v.f, v.b, count(*) AS n FROM ${sample.from},
              LATERAL (VALUES (-1, ''), ${[...bins].join(', ') || '(-2, NULL)'}) AS v(f, b)
             WHERE (${sample.where(arg)}) AND v.b IS NOT NULL GROUP BY 1, 2`;
  });
  const { rows } = await pool.query<{ f: number; b: string; n: string }>(q.text, q.args);
  const counts = columns.map(() => new Map<string, number>());
  let total = 0;
  for (const r of rows) {
    if (r.f === -1) total = Number(r.n);
    else counts[r.f]?.set(r.b, Number(r.n));
  }
  return { rows: total, counts };
}

const sharesOf = (bins: number, counts: Map<string, number>): number[] => {
  const out = new Array<number>(bins).fill(0);
  for (const [b, n] of counts) out[Number(b)] = n;
  const total = out.reduce((a, b) => a + b, 0);
  return out.map((n) => (total > 0 ? n / total : 0));
};

const categoricalShares = (counts: Map<string, number>): [string, number][] => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts].map(([v, n]) => [v, total > 0 ? n / total : 0]);
};

/** The reference profile of these columns over a sample (the training data): deciles, then shares, two scans. */
export async function profileSample(
  pool: Queryable,
  sample: Sample,
  columns: readonly ProfiledColumn[],
): Promise<{ rows: number; features: Record<string, FieldProfile> }> {
  const numeric = columns.filter((c) => c.kind === 'numeric');
  const edges = new Map<string, number[]>();
  if (numeric.length > 0) {
    const q = build(
      (arg) =>
        `SELECT ${numeric
          .map(
            (c, i) =>
              `percentile_cont(${arg(DECILES)}::float8[]) WITHIN GROUP (ORDER BY (${c.value(arg)})::float8) AS q${i}`,
          )
          .join(', ')} FROM ${sample.from} WHERE ${sample.where(arg)}`,
    );
    const { rows } = await pool.query<Record<string, number[] | null>>(q.text, q.args);
    numeric.forEach((c, i) =>
      edges.set(
        c.field,
        [...new Set((rows[0]?.[`q${i}`] ?? []).map(Number))].sort((a, b) => a - b),
      ),
    );
  }
  const withEdges = columns.map((c) => ({
    ...c,
    ...(edges.has(c.field) ? { edges: edges.get(c.field) } : {}),
  }));
  const { rows, counts } = await histograms(pool, sample, withEdges);
  const features: Record<string, FieldProfile> = {};
  withEdges.forEach((c, i) => {
    const seen = counts[i] ?? new Map<string, number>();
    if (c.kind === 'numeric') {
      const e = c.edges ?? [];
      features[c.field] = { kind: 'numeric', edges: e, shares: sharesOf(e.length + 1, seen) };
    } else {
      const all = categoricalShares(seen).sort((a, b) => b[1] - a[1]);
      const other = all.slice(TOP).reduce((s, [, v]) => s + v, 0);
      features[c.field] = {
        kind: 'categorical',
        shares: Object.fromEntries([...all.slice(0, TOP), [OTHER, other]]),
      };
    }
  });
  return { rows, features };
}

/** PSI of two share vectors over the same bins (empty bins count as EPSILON). */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] ?? 0, EPSILON);
    const a = Math.max(actual[i] ?? 0, EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

function ks(expected: readonly number[], actual: readonly number[]): number {
  let ce = 0;
  let ca = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    ce += expected[i] ?? 0;
    ca += actual[i] ?? 0;
    worst = Math.max(worst, Math.abs(ce - ca));
  }
  return worst;
}

/**
 * Drift of each column over a sample against its reference profile, from one scan. A column with no value in the
 * sample (a field online requests never sent) is left out rather than reported as drifted.
 */
export async function driftOfSample(
  pool: Queryable,
  sample: Sample,
  columns: readonly ProfiledColumn[],
  reference: Readonly<Record<string, FieldProfile>>,
): Promise<{ rows: number; features: DriftFeature[] }> {
  const known = columns.flatMap((c) => {
    const ref = reference[c.field];
    if (!ref) return [];
    // The reference decides how the column is binned (a numeric field profiled as numbers stays numeric).
    return [{ ...c, kind: ref.kind, ...(ref.kind === 'numeric' ? { edges: ref.edges } : {}) }];
  });
  const { rows, counts } = await histograms(pool, sample, known);
  const fields = Object.fromEntries(known.map((c, i) => [c.field, Object.fromEntries(counts[i] ?? [])]));
  return {
    rows,
    features: driftOfCounts(
      known.map((c) => c.field),
      { rows, fields },
      reference,
    ),
  };
}

/**
 * Drift of each field from its histogram (SQL's, or a batch run's tallies: the same bins), in the given order. A
 * field with no counted value is left out.
 */
export function driftOfCounts(
  order: readonly string[],
  counts: BinCounts,
  reference: Readonly<Record<string, FieldProfile>>,
): DriftFeature[] {
  const features: DriftFeature[] = [];
  for (const field of order) {
    const ref = reference[field];
    const seen = new Map(Object.entries(counts.fields[field] ?? {}));
    if (!ref || seen.size === 0) continue;
    if (ref.kind === 'numeric') {
      const actual = sharesOf(ref.edges.length + 1, seen);
      features.push({ field, psi: psi(ref.shares, actual), ks: ks(ref.shares, actual) });
    } else {
      const now = new Map(categoricalShares(seen));
      const bins = Object.keys(ref.shares).filter((k) => k !== OTHER);
      const actual = bins.map((b) => now.get(b) ?? 0);
      actual.push(Math.max(0, 1 - actual.reduce((a, b) => a + b, 0)));
      features.push({
        field,
        psi: psi([...bins.map((b) => ref.shares[b] ?? 0), ref.shares[OTHER] ?? 0], actual),
      });
    }
  }
  return features;
}

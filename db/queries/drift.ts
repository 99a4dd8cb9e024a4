/**
 * Reference profiles and drift of a deployment's batch source, aggregated in Postgres (no row comes to the process):
 * a numeric field is binned by deciles of the reference (width_bucket over its inner edges), a text field by its
 * most frequent values (the rest as one "(other)" bin). PSI compares the shares bin by bin; KS is the largest gap
 * between the two binned cumulative shares (numeric fields).
 */
import type { DriftFeature, FieldProfile, ReferenceProfile } from '../../contracts/monitoring.js';
import type { Pool } from '../pool.js';
import { quote, quoteTable } from './batch-tables.js';

export interface ProfiledColumn {
  field: string;
  column: string;
  kind: 'numeric' | 'categorical';
}

export interface SourceWindow {
  table: string;
  eventTime?: string;
  from?: string;
  to?: string;
}

const OTHER = '(other)';
const TOP = 30;
const EPSILON = 1e-4;

function where(w: SourceWindow, first: number): { sql: string; args: unknown[] } {
  if (!w.eventTime || w.from === undefined || w.to === undefined) return { sql: 'TRUE', args: [] };
  const t = quote(w.eventTime);
  return { sql: `${t} >= $${first} AND ${t} < $${first + 1}`, args: [w.from, w.to] };
}

async function numericProfile(pool: Pool, w: SourceWindow, column: string): Promise<FieldProfile> {
  const c = quote(column);
  const filter = where(w, 1);
  const { rows } = await pool.query<{ q: number[] | null; n: string }>(
    `SELECT percentile_cont(ARRAY[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]) WITHIN GROUP (ORDER BY ${c}::float8) AS q,
            count(${c}) AS n
       FROM ${quoteTable(w.table)} WHERE ${filter.sql}`,
    filter.args,
  );
  const edges = [...new Set((rows[0]?.q ?? []).map(Number))].sort((a, b) => a - b);
  const shares = await numericShares(pool, w, column, edges);
  return { kind: 'numeric', edges, shares };
}

async function numericShares(
  pool: Pool,
  w: SourceWindow,
  column: string,
  edges: number[],
): Promise<number[]> {
  const c = quote(column);
  const filter = where(w, 2);
  const { rows } = await pool.query<{ b: number; n: string }>(
    `SELECT width_bucket(${c}::float8, $1::float8[]) AS b, count(*) AS n
       FROM ${quoteTable(w.table)} WHERE ${c} IS NOT NULL AND ${filter.sql} GROUP BY 1`,
    [edges, ...filter.args],
  );
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const r of rows) counts[r.b] = Number(r.n);
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => (total > 0 ? n / total : 0));
}

async function categoricalShares(
  pool: Pool,
  w: SourceWindow,
  column: string,
): Promise<Record<string, number>> {
  const c = quote(column);
  const filter = where(w, 1);
  const { rows } = await pool.query<{ v: string; n: string }>(
    `SELECT ${c}::text AS v, count(*) AS n FROM ${quoteTable(w.table)}
      WHERE ${c} IS NOT NULL AND ${filter.sql} GROUP BY 1`,
    filter.args,
  );
  const total = rows.reduce((s, r) => s + Number(r.n), 0);
  return Object.fromEntries(rows.map((r) => [r.v, total > 0 ? Number(r.n) / total : 0]));
}

/** The reference profile of these columns over a window of the source (the training partition). */
export async function profileSource(
  pool: Pool,
  w: SourceWindow,
  columns: readonly ProfiledColumn[],
  source: string,
): Promise<ReferenceProfile> {
  const features: Record<string, FieldProfile> = {};
  for (const col of columns) {
    if (col.kind === 'numeric') features[col.field] = await numericProfile(pool, w, col.column);
    else {
      const all = Object.entries(await categoricalShares(pool, w, col.column)).sort((a, b) => b[1] - a[1]);
      const top = all.slice(0, TOP);
      const other = all.slice(TOP).reduce((s, [, v]) => s + v, 0);
      features[col.field] = { kind: 'categorical', shares: Object.fromEntries([...top, [OTHER, other]]) };
    }
  }
  const filter = where(w, 1);
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${quoteTable(w.table)} WHERE ${filter.sql}`,
    filter.args,
  );
  return { source, rows: Number(rows[0]?.n ?? 0), features };
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

/** Drift of each profiled field over a window of the source against the reference. */
export async function driftOfSource(
  pool: Pool,
  w: SourceWindow,
  columns: readonly ProfiledColumn[],
  reference: ReferenceProfile,
): Promise<DriftFeature[]> {
  const out: DriftFeature[] = [];
  for (const col of columns) {
    const ref = reference.features[col.field];
    if (!ref) continue;
    if (ref.kind === 'numeric') {
      const shares = await numericShares(pool, w, col.column, ref.edges);
      out.push({ field: col.field, psi: psi(ref.shares, shares), ks: ks(ref.shares, shares) });
    } else {
      const now = await categoricalShares(pool, w, col.column);
      const bins = Object.keys(ref.shares).filter((k) => k !== OTHER);
      const actual = bins.map((b) => now[b] ?? 0);
      actual.push(Math.max(0, 1 - actual.reduce((a, b) => a + b, 0)));
      out.push({
        field: col.field,
        psi: psi([...bins.map((b) => ref.shares[b] ?? 0), ref.shares[OTHER] ?? 0], actual),
      });
    }
  }
  return out;
}

/** Summaries of repeated bench runs: the median with its spread, never the best run alone. */

export interface Spread {
  runs: number;
  median: number;
  min: number;
  max: number;
}

/** Median (mean of the middle two for an even count) and range of `values`; NaN fields for no values. */
export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = sorted.length;
  const at = (i: number) => sorted[i] ?? NaN;
  const median = n % 2 === 1 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
  return { runs: n, median, min: at(0), max: at(n - 1) };
}

/** `median [min-max]` with `digits` decimals, for the printed table. */
export function formatSpread(s: Spread, digits = 2): string {
  if (s.runs === 0) return '-';
  if (s.runs === 1) return s.median.toFixed(digits);
  return `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}-${s.max.toFixed(digits)}]`;
}

/**
 * Side order of round `round`: the sides rotated by one each round, so no side always runs first (on a warm
 * cache) or right after the heaviest one.
 */
export function roundOrder<T>(sides: readonly T[], round: number): T[] {
  const k = sides.length === 0 ? 0 : round % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

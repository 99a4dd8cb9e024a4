/**
 * Running statistics of a stream's predictions in bounded memory: an exact count and mean, and p50/p90 from a
 * histogram of 0.25-minute bins (error at most 0.125 min; values past 240 min share the last bin). The sparse
 * histogram is carried across continue-as-new.
 */
export const BIN_MINUTES = 0.25;
const LAST_BIN = Math.round(240 / BIN_MINUTES);

export interface StatsSnapshot {
  histogram: Record<string, number>;
  sum: number;
  count: number;
}

export class PredictionStats {
  private readonly bins = new Map<number, number>();
  private sum: number;
  private n = 0;

  constructor(snapshot?: StatsSnapshot) {
    this.sum = snapshot?.sum ?? 0;
    for (const [bin, count] of Object.entries(snapshot?.histogram ?? {})) {
      this.bins.set(Number(bin), count);
      this.n += count;
    }
  }

  add(minutes: number): void {
    if (!Number.isFinite(minutes)) return;
    const bin = Math.min(LAST_BIN, Math.max(0, Math.floor(minutes / BIN_MINUTES)));
    this.bins.set(bin, (this.bins.get(bin) ?? 0) + 1);
    this.sum += minutes;
    this.n += 1;
  }

  get count(): number {
    return this.n;
  }

  mean(): number | null {
    return this.n === 0 ? null : this.sum / this.n;
  }

  /** The midpoint of the bin holding the q-quantile (nearest-rank). */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (const bin of [...this.bins.keys()].sort((a, b) => a - b)) {
      seen += this.bins.get(bin) ?? 0;
      if (seen >= rank) return (bin + 0.5) * BIN_MINUTES;
    }
    return null;
  }

  snapshot(): StatsSnapshot {
    return {
      histogram: Object.fromEntries([...this.bins].map(([b, c]) => [String(b), c])),
      sum: this.sum,
      count: this.n,
    };
  }
}

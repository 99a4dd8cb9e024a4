/**
 * Running statistics of a stream's primary values in bounded memory. Numbers (regression): an exact count and
 * mean, and p50/p90 from a histogram of 0.25-wide bins (error at most 0.125 in the model's unit; values past 240
 * share the last bin). Strings (class labels): a count per label (at most MAX_LABELS distinct). The sparse
 * histogram and the label counts are carried across continue-as-new.
 */
export const BIN_WIDTH = 0.25;
const LAST_BIN = Math.round(240 / BIN_WIDTH);
const MAX_LABELS = 100;

export interface StatsSnapshot {
  histogram: Record<string, number>;
  sum: number;
  count: number;
  labels?: Record<string, number>;
}

export class PredictionStats {
  private readonly bins = new Map<number, number>();
  private readonly labels = new Map<string, number>();
  private sum: number;
  private numbers = 0;

  constructor(snapshot?: StatsSnapshot) {
    this.sum = snapshot?.sum ?? 0;
    for (const [bin, count] of Object.entries(snapshot?.histogram ?? {})) {
      this.bins.set(Number(bin), count);
      this.numbers += count;
    }
    for (const [label, count] of Object.entries(snapshot?.labels ?? {})) this.labels.set(label, count);
  }

  /** Counts a primary value: a number into the histogram, a label into its count. */
  add(value: number | string | null): void {
    if (typeof value === 'string') {
      if (this.labels.has(value) || this.labels.size < MAX_LABELS)
        this.labels.set(value, (this.labels.get(value) ?? 0) + 1);
      return;
    }
    if (value === null || !Number.isFinite(value)) return;
    const bin = Math.min(LAST_BIN, Math.max(0, Math.floor(value / BIN_WIDTH)));
    this.bins.set(bin, (this.bins.get(bin) ?? 0) + 1);
    this.sum += value;
    this.numbers += 1;
  }

  get count(): number {
    let labelled = 0;
    for (const n of this.labels.values()) labelled += n;
    return this.numbers + labelled;
  }

  mean(): number | null {
    return this.numbers === 0 ? null : this.sum / this.numbers;
  }

  /** The midpoint of the bin holding the q-quantile (nearest-rank) of the numeric values. */
  quantile(q: number): number | null {
    if (this.numbers === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.numbers));
    let seen = 0;
    for (const bin of [...this.bins.keys()].sort((a, b) => a - b)) {
      seen += this.bins.get(bin) ?? 0;
      if (seen >= rank) return (bin + 0.5) * BIN_WIDTH;
    }
    return null;
  }

  /** Counts per class label; undefined when the stream has scored no label. */
  labelCounts(): Record<string, number> | undefined {
    return this.labels.size === 0 ? undefined : Object.fromEntries(this.labels);
  }

  snapshot(): StatsSnapshot {
    const labels = this.labelCounts();
    return {
      histogram: Object.fromEntries([...this.bins].map(([b, c]) => [String(b), c])),
      sum: this.sum,
      count: this.count,
      ...(labels ? { labels } : {}),
    };
  }
}

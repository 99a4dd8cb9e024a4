/**
 * The Online page's snapshot of the API's own metrics registry: requests per method, route and status, and the
 * request latency histogram (per-bucket samples, as /metrics writes them). Read from the two metrics directly, so
 * a snapshot never runs the registry's collectors (the monitoring gauges query Postgres).
 */
import type { ApiMetrics } from '../../api/metrics.js';

/** A Prometheus sample as the page reads it (ui/src/metrics.ts). */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricsSnapshot {
  /** When it was taken, ms since the epoch (the page's rate is the change between two snapshots). */
  at: number;
  samples: MetricSample[];
}

export async function metricsSnapshot(metrics: ApiMetrics): Promise<MetricsSnapshot> {
  const [requests, latency] = await Promise.all([metrics.requests.get(), metrics.latency.get()]);
  const labelsOf = (labels: Partial<Record<string, string | number>>) => {
    const out: Record<string, string> = {};
    for (const [k, l] of Object.entries(labels)) if (l !== undefined) out[k] = String(l);
    return out;
  };
  const samples: MetricSample[] = [
    ...requests.values.map((v) => ({ name: requests.name, labels: labelsOf(v.labels), value: v.value })),
    ...latency.values.map((v) => ({
      name: v.metricName ?? latency.name,
      labels: labelsOf(v.labels),
      value: v.value,
    })),
  ];
  return { at: Date.now(), samples };
}

/**
 * Prometheus metrics of one app instance, on its own Registry (never the global one), so tests can create many
 * apps in one process: HTTP requests and latency per route and status, dynamic-batch sizes, queue depth,
 * predictions per model version, the prediction log's rows, and the Node process metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PredictionLog } from './prediction-log.js';

/** One label set of a counter, counted in a plain number that reaches prom-client when the registry collects. */
export interface Tally {
  inc(n?: number): void;
}

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'method' | 'route' | 'status'>;
  batchRows: Histogram<'model' | 'version'>;
  batchRequests: Histogram<'model' | 'version'>;
  queueDepth: Gauge<'model' | 'version'>;
  predictions: Counter<'model' | 'version' | 'route'>;
  /** `predictions` for one model version and route, cheap enough for every request (no label hashing). */
  predictionTally(model: string, version: string, route: string): Tally;
  sseConnections: Gauge;
}

export function createMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const tallies = new Map<
    string,
    { labels: Record<'model' | 'version' | 'route', string>; n: number; tally: Tally }
  >();
  const predictionTally = (model: string, version: string, route: string): Tally => {
    const key = `${model}\u0000${version}\u0000${route}`;
    let entry = tallies.get(key);
    if (!entry) {
      const created = {
        labels: { model, version, route },
        n: 0,
        tally: { inc: (n = 1) => void (created.n += n) },
      };
      tallies.set(key, (entry = created));
    }
    return entry.tally;
  };
  return {
    predictionTally,
    registry,
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, matched route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    latency: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, matched route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchRows: new Histogram({
      name: 'inference_batch_rows',
      help: 'Rows per ONNX scoring call made by the dynamic batcher',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10000],
      registers,
    }),
    batchRequests: new Histogram({
      name: 'inference_batch_requests',
      help: 'HTTP requests coalesced into one scoring call by the dynamic batcher',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'inference_queue_rows',
      help: 'Rows waiting in the dynamic batcher per model version',
      labelNames: ['model', 'version'],
      registers,
    }),
    predictions: new Counter({
      name: 'predictions_total',
      help: 'Records scored online, per model version and route',
      labelNames: ['model', 'version', 'route'],
      registers,
      collect() {
        for (const t of tallies.values()) {
          if (t.n === 0) continue;
          this.inc(t.labels, t.n);
          t.n = 0;
        }
      },
    }),
    sseConnections: new Gauge({
      name: 'sse_connections',
      help: 'Open Server-Sent-Events connections',
      registers,
    }),
  };
}

/** The prediction log's rows by state, read when the registry collects: rows lost are never silent. */
export function registerPredictionLogGauge(
  metrics: ApiMetrics,
  log: Pick<PredictionLog, 'written' | 'pending' | 'dropped' | 'refused'>,
): void {
  new Gauge({
    name: 'prediction_log_rows',
    help: 'Rows of the online prediction log: written, pending (buffered), dropped (refused by Postgres included), refused',
    labelNames: ['state'],
    registers: [metrics.registry],
    collect() {
      this.set({ state: 'written' }, log.written());
      this.set({ state: 'pending' }, log.pending());
      this.set({ state: 'dropped' }, log.dropped());
      this.set({ state: 'refused' }, log.refused());
    },
  });
}

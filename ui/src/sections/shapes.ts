/** The API's answers as the dashboard reads them (see docs/api.md and api/routes/ui.ts). */
import type { PerformanceRow } from '../../../contracts/monitoring.js';
import type { RoutingState } from '../../../contracts/routing.js';

export interface Deployment {
  name: string;
  file: string;
  model: string;
  status: 'ready' | 'refused';
  problems: string[];
  modes: string[];
  waiting: string[];
  batch?: { source: string; sink: string; rejected: string; schedule?: string };
}

export interface ModelVersion {
  name: string;
  version: string;
  ref: string;
  aliases: string[];
  task: string;
  fields: string[];
  inputs: string[];
  outputs: string[];
  kind?: string;
  description?: string;
  metrics?: unknown;
}

export interface ModelList {
  models: ModelVersion[];
  aliases: { name: string; alias: string; version: string }[];
  failures: { ref: string; reason: string }[];
}

export interface BatchRun {
  runId: string;
  workflowId: string;
  parentRunId: string | null;
  deployment: string | null;
  partition: string;
  from: string;
  to: string;
  model: string;
  version: string;
  status: string;
  rowsScored: number;
  rowsRejected: number;
  metrics: Record<string, number> | null;
  startedAt: string;
  finishedAt: string | null;
  durationS: number;
  error: string | null;
  webUiUrl: string;
  /** A running run's committed rows and chunks so far. */
  progress: RunProgress | null;
}

/** The live progress of a running batch run (batch_run_progress, summed over its chunks). */
export interface RunProgress {
  rowsDone: number;
  rowsTotal: number | null;
  chunksDone: number;
  chunksTotal: number | null;
  at: string;
}

export type { BatchProgressEvent } from '../../../contracts/batch.js';

/** An event of GET /ui/api/online/events: the API's request counters and latency histogram (ui/server/online.ts). */
export interface MetricsSnapshot {
  /** ms since the epoch */
  at: number;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export interface StreamItem {
  streamId: string;
  deployment: string | null;
  predictions: number;
  deadLetters: number;
  pendingDeadLetters: number;
  lastScoredAt: string | null;
}

export interface StreamDetail {
  streamId: string;
  latency: { count: number; p50: number | null; p99: number | null };
  eventsPerSecond: number;
  tailAfterId: string;
  deadLetters: {
    eventId: string;
    error: string;
    attempts: number;
    createdAt: string;
    replayedAt: string | null;
    record: unknown;
  }[];
}

export interface StreamState {
  streamId: string;
  deployment: string | null;
  received: number;
  processed: number;
  failed: number;
  duplicates: number;
  replayed: number;
  queueLength: number;
  inFlight: number;
  model: string | null;
  paused: boolean;
  draining: boolean;
  predictions: {
    count: number;
    mean: number | null;
    p50: number | null;
    p90: number | null;
    labels?: Record<string, number>;
  };
}

export type {
  GateFailure,
  RolloutProgress,
  RolloutStatus,
  RoutingState,
  StepRecord,
} from '../../../contracts/routing.js';

/** One change of GET /deployments/{name}/history: who, why, when, and the routing after it. */
export interface HistoryEntry {
  revision: number;
  changedAt: string;
  actor: string;
  reason: string;
  change: unknown;
  state: RoutingState;
}

export type { DriftFeature, DriftWindow } from '../../../contracts/monitoring.js';

export type { PerformanceRow };

/** GET /deployments/{name}/metrics. */
export interface PerformanceAnswer {
  deployment: string;
  task: 'regression' | 'classification';
  from: string;
  to: string;
  window: 'hour' | 'day';
  target_range?: [number, number];
  rows: PerformanceRow[];
}

/** An alert of GET /deployments/{name}/drift (a `monitoring_alerts` row). */
export interface MonitoringAlert {
  kind: string;
  version: string;
  from: string;
  to: string;
  details: { drifted?: string[]; threshold?: number } | null;
  raisedAt: string;
}

/** GET /ui/api/monitoring/summary, one deployment (ui/server/monitoring.ts). */
export interface MonitoringHeadline {
  deployment: string;
  drift: {
    version: string;
    mode: string | null;
    from: string;
    to: string;
    rows: number;
    threshold: number;
    drifted: string[];
    worst: { field: string; psi: number } | null;
    computedAt: string;
  } | null;
  alerts: {
    count: number;
    recent: number;
    latest: { kind: string; version: string; from: string; to: string; raisedAt: string } | null;
  };
  performance: {
    metric: 'mae' | 'accuracy';
    rows: { mode: string; version: string; window: string; labelled: number; value: number | null }[];
  } | null;
  problem?: string;
}

/**
 * A stream's state and its transitions, as a plain class (no Temporal imports, so it is tested without a server):
 * the workflow's handlers and loop call it; continue-as-new carries `carry()`. Time and ids come in as arguments,
 * so everything here replays identically.
 */
import { streamAdapterFor, streamAdapters } from '../adapters/streams.js';
import type { LabelInput } from '../contracts/monitoring.js';
import type { Primary, ResolvedModel } from '../contracts/scoring.js';
import {
  EVENTS_SIGNAL,
  type QueuedEvent,
  type ReplayRequest,
  type StreamAdapter,
  type StreamCarry,
  type StreamCounters,
  type StreamDeploymentInfo,
  type StreamOptions,
  type StreamPrediction,
  type StreamState,
} from '../contracts/stream.js';
import { DedupWindow } from './stream-dedup.js';
import { toQueuedEvent } from './stream-event.js';
import { PredictionStats } from './stream-stats.js';

// The server refuses signals past 10,000 per execution: continue-as-new well before, whatever the queue holds.
const HARD_SIGNAL_LIMIT = 8_000;

/** Every signal name that may carry events to a stream: the generic one and each course adapter's. */
export function eventSignalNames(): string[] {
  const names = streamAdapters().flatMap((a) => [a.signals.one, a.signals.many]);
  return [EVENTS_SIGNAL, ...new Set(names)];
}

/** What one scoring call did, as the workflow counts it. */
export interface SliceOutcome {
  scored: { value: Primary; payload: StreamPrediction }[];
  deadLettered: number;
  duplicates: number;
  /** The last event of the slice (it moves `lastEventId`). */
  lastEventId?: string | null;
}

export interface WorkflowClock {
  historyLength: number;
  continueAsNewSuggested: boolean;
}

interface Pending {
  signal: string;
  payload: unknown;
  now: string;
}

export class StreamManager {
  readonly queue: QueuedEvent[];
  spilled: number;
  inFlight = 0;
  paused: boolean;
  draining: boolean;
  model: ResolvedModel | undefined;
  /** Follows the deployment's routing (see StreamDeploymentInfo.routed); an explicit model pins the stream. */
  routed = false;
  deployment: string | undefined;
  private adapter: StreamAdapter | undefined;
  /** Signals that arrived before the deployment (hence the adapter) was known, in arrival order. */
  private readonly inbox: Pending[] = [];
  private readonly recent: DedupWindow;
  private readonly stats: PredictionStats;
  private readonly counters: StreamCounters;
  private lastEventId: string | null;
  private lastPrediction: StreamPrediction | null;
  private readonly startedAt: string;
  private readonly runs: number;
  private signalsThisRun = 0;
  private eventsThisRun = 0;
  private invalidSeq = 0;
  /** Labels waiting to be written (the `labels` signal), in arrival order. */
  private labels: LabelInput[];

  constructor(
    readonly streamId: string,
    readonly options: StreamOptions,
    private readonly run: { runId: string; startedAt: string },
    carried?: StreamCarry,
  ) {
    this.queue = carried?.queue ?? [];
    this.spilled = carried?.spilled ?? 0;
    this.recent = new DedupWindow(options.dedupWindow, carried?.recentIds ?? []);
    this.stats = new PredictionStats(
      carried
        ? { histogram: carried.histogram, sum: carried.sum, count: 0, labels: carried.labels }
        : undefined,
    );
    this.counters = carried?.counters ?? { received: 0, processed: 0, failed: 0, duplicates: 0, replayed: 0 };
    this.lastEventId = carried?.lastEventId ?? null;
    this.lastPrediction = carried?.lastPrediction ?? null;
    this.model = carried?.model;
    this.paused = carried?.paused ?? false;
    this.draining = carried?.draining ?? false;
    this.startedAt = carried?.startedAt ?? run.startedAt;
    this.runs = carried?.runs ?? 0;
    this.labels = carried?.pendingLabels ?? [];
    if (carried)
      this.setDeployment({
        deployment: carried.deployment,
        model: carried.model,
        ...(carried.routed ? { routed: true } : {}),
      });
  }

  /** Learns the stream's deployment (and its adapter), then queues what arrived before. */
  setDeployment(info: StreamDeploymentInfo): void {
    this.deployment = info.deployment;
    this.adapter = streamAdapterFor(info.deployment);
    this.model ??= info.model;
    this.routed = info.routed ?? this.routed;
    for (const p of this.inbox.splice(0)) this.translate(p);
  }

  /** A signal carrying events (see eventSignalNames). Never throws: malformed events are queued as invalid. */
  receive(signal: string, payload: unknown, now: string): void {
    this.signalsThisRun += 1;
    if (this.deployment === undefined) this.inbox.push({ signal, payload, now });
    else this.translate({ signal, payload, now });
  }

  private translate({ signal, payload, now }: Pending): void {
    const invalidId = () => `invalid-${this.run.runId}-${this.invalidSeq++}`;
    const items = Array.isArray(payload) ? (payload as unknown[]) : [payload];
    const adapter = this.adapter;
    for (const raw of items) {
      if (signal === EVENTS_SIGNAL) this.accept(toQueuedEvent(raw, now, invalidId));
      else if (adapter && (signal === adapter.signals.one || signal === adapter.signals.many))
        this.accept(adapter.toQueued(raw, now, invalidId));
      else {
        const event = toQueuedEvent(raw, now, invalidId);
        event.invalid = `signal ${signal} does not carry events of deployment ${this.deployment ?? '?'} (send "${EVENTS_SIGNAL}")`;
        this.accept(event);
      }
    }
  }

  private accept(event: QueuedEvent): void {
    this.counters.received += 1;
    this.eventsThisRun += 1;
    if (!this.recent.add(event.event_id)) {
      this.counters.duplicates += 1;
      return;
    }
    this.queue.push(event);
  }

  /** The `labels` signal: well-formed `{key, label}` wait to be written; anything else is dropped. Never throws. */
  receiveLabels(payload: unknown): void {
    for (const raw of Array.isArray(payload) ? (payload as unknown[]) : [payload]) {
      if (typeof raw !== 'object' || raw === null) continue;
      const { key, label } = raw as Record<string, unknown>;
      const okKey =
        (typeof key === 'string' && key.length > 0) || (typeof key === 'number' && Number.isFinite(key));
      const okLabel = typeof label === 'string' || (typeof label === 'number' && Number.isFinite(label));
      if (okKey && okLabel) this.labels.push({ key, label });
    }
  }

  labelsWaiting(): number {
    return this.labels.length;
  }

  /** Takes the waiting labels for one write; `labelsWritten` counts them once the activity returned. */
  takeLabels(): LabelInput[] {
    return this.labels.splice(0);
  }

  labelsWritten(n: number): void {
    this.counters.labels = (this.counters.labels ?? 0) + n;
  }

  /** The corrected record of a replay request: generic `record`, else the adapter's own field. */
  replayRecord(request: ReplayRequest): QueuedEvent['record'] | undefined {
    return request.record ?? this.adapter?.replayRecord(request);
  }

  /** Re-queues a dead letter (bypassing the dedup window). */
  replay(event: QueuedEvent): { eventId: string; queueLength: number } {
    this.recent.add(event.event_id);
    this.queue.push({ ...event, replay: true });
    this.counters.replayed += 1;
    return { eventId: event.event_id, queueLength: this.queue.length };
  }

  waiting(): number {
    return this.queue.length + this.spilled;
  }

  canScore(): boolean {
    return this.waiting() > 0 && (!this.paused || this.draining);
  }

  /** Drained: nothing left to score, the workflow may complete. */
  finished(): boolean {
    return this.draining && this.waiting() === 0;
  }

  handOverDue(clock: WorkflowClock): boolean {
    return (
      this.eventsThisRun >= this.options.canAfterEvents ||
      this.signalsThisRun >= HARD_SIGNAL_LIMIT ||
      clock.historyLength >= this.options.canAfterHistory ||
      clock.continueAsNewSuggested
    );
  }

  /** Takes the next in-memory slice (at most maxRun events, oldest first). */
  nextSlice(): QueuedEvent[] {
    return this.queue.splice(0, this.options.maxRun);
  }

  /** Counts one scoring call's outcome. */
  apply(outcome: SliceOutcome): void {
    for (const s of outcome.scored) {
      this.stats.add(s.value);
      this.lastPrediction = s.payload;
    }
    this.counters.processed += outcome.scored.length;
    this.counters.failed += outcome.deadLettered;
    this.counters.duplicates += outcome.duplicates;
    this.lastEventId = outcome.lastEventId ?? this.lastEventId;
  }

  modelRef(): string | null {
    return this.model ? `${this.model.name}@${this.model.version}` : null;
  }

  state(): StreamState {
    const labels = this.stats.labelCounts();
    return {
      streamId: this.streamId,
      deployment: this.deployment ?? null,
      ...this.counters,
      queueLength: this.waiting(),
      spilled: this.spilled,
      inFlight: this.inFlight,
      lastEventId: this.lastEventId,
      lastPrediction: this.lastPrediction,
      predictions: {
        count: this.stats.count,
        mean: this.stats.mean(),
        p50: this.stats.quantile(0.5),
        p90: this.stats.quantile(0.9),
        ...(labels ? { labels } : {}),
      },
      model: this.modelRef(),
      ...(this.routed ? { routed: true } : {}),
      paused: this.paused,
      draining: this.draining,
      startedAt: this.startedAt,
      runStartedAt: this.run.startedAt,
      runs: this.runs,
      options: this.options,
    };
  }

  /** What the next run starts from; `announced` when producers were told to hold their signals. */
  carry(announced: boolean): StreamCarry {
    if (!this.model || this.deployment === undefined)
      throw new Error('a stream hands over only after it started');
    const { histogram, sum, labels } = this.stats.snapshot();
    return {
      deployment: this.deployment,
      queue: this.queue,
      spilled: this.spilled,
      recentIds: this.recent.toArray(),
      counters: this.counters,
      histogram,
      sum,
      ...(labels ? { labels } : {}),
      lastEventId: this.lastEventId,
      lastPrediction: this.lastPrediction,
      model: this.model,
      ...(this.routed ? { routed: true } : {}),
      paused: this.paused,
      draining: this.draining,
      startedAt: this.startedAt,
      runs: this.runs + 1,
      announced,
      ...(this.labels.length > 0 ? { pendingLabels: this.labels } : {}),
    };
  }
}

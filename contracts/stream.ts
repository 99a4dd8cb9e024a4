/**
 * Streaming scoring contract: one `streamScoring` workflow per stream (`stream-<streamId>`), fed by signals.
 */
import type { RideInput } from './scoring.js';

export const STREAM_WORKFLOW = 'streamScoring';
export const streamWorkflowId = (streamId: string) => `stream-${streamId}`;

export const RIDE_EVENT_SIGNAL = 'rideEvent';
export const RIDE_EVENTS_SIGNAL = 'rideEvents';
export const STREAM_STATE_QUERY = 'state';

/** One event in the course's format: `{"ride": {...}, "ride_id": 256}`. */
export interface RideEvent {
  ride: Partial<RideInput> & Record<string, unknown>;
  ride_id: string | number;
  /** Dedup key; defaults to `ride_id`. */
  event_id?: string;
  /** Stamped when the event is accepted (before it enters the workflow) if the producer sent none. */
  received_at?: string;
}

/** The course's output shape, as persisted in `stream_predictions` and published to consumers. */
export interface StreamPrediction {
  model: string;
  version: string;
  prediction: { ride_duration: number; ride_id: string | number };
}

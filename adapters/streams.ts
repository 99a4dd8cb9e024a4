/**
 * The stream adapters, by deployment name: the one place the streaming mode learns that a deployment's streams
 * speak a course contract (StreamAdapter in contracts/stream.ts). A deployment without one speaks the generic
 * contract only. Pure: the workflow bundle, the activities, the control layer and the API all read this map.
 */
import type { StreamAdapter } from '../contracts/stream.js';
import { rideDurationStream } from './ride-duration/stream.js';

const ADAPTERS: readonly StreamAdapter[] = [rideDurationStream];

const byDeployment = new Map(ADAPTERS.map((a) => [a.deployment, a]));

/** The course adapter of a deployment's streams, if it has one. */
export function streamAdapterFor(deployment: string | undefined): StreamAdapter | undefined {
  return deployment === undefined ? undefined : byDeployment.get(deployment);
}

/** Every adapter (the workflow registers all their signals; the API documents all their schemas). */
export function streamAdapters(): readonly StreamAdapter[] {
  return ADAPTERS;
}

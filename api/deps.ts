/** What the HTTP app needs, injected by the server entry point (or a test). */
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import type { StreamSender } from '../control/stream-send.js';
import type { Logger } from '../logger.js';
import type { Adapter } from '../adapters/index.js';
import type { DeploymentRegistry } from '../platform/deployments.js';
import type { RoutingTable } from '../platform/routing.js';
import type { ModelScorer } from '../scoring/scorer.js';
import type { ThreadScorer } from '../scoring/score-thread.js';
import type { AfterResponse } from './after-response.js';
import type { PredictionLog } from './prediction-log.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  pool: Pool;
  temporal: Client;
  /** The shared model core (registry, aliases, scoring). */
  scorer: ModelScorer;
  /** Async writer of `online_predictions`; present when PREDICTION_LOG is on. The owner closes it. */
  predictionLog?: PredictionLog;
  /**
   * Sends stream events (coalescing per stream, holding a stream while it continues as new when built with a
   * rollover watch). Default: a sender without a watch.
   */
  streamSender?: StreamSender;
  /** The deployments that passed their checks at start (GET /deployments); absent: none are listed. */
  deployments?: DeploymentRegistry;
  /** Course contracts to mount (default: adapters/index.ts ADAPTERS). */
  adapters?: readonly Adapter[];
  /** The routing mirror (champion, challenger, shares per deployment); absent: every call goes to production. */
  routing?: RoutingTable;
  /**
   * With a predictionLog: log every call (PREDICTION_LOG=on, the default here), or only the challenger's canary and
   * shadow calls (the server's choice when PREDICTION_LOG is off: a rollout's gates need those rows).
   */
  logAllPredictions?: boolean;
  /**
   * A scoring thread for the challengers' record calls (canary and shadow on /predict, /predict/batch and
   * /models/{name}/predict), so their ONNX runs leave the thread that answers the champion's requests
   * (CHALLENGER_THREAD on, or auto: then a cheap challenger's canary calls come back to the main thread once timed,
   * api/placement.ts). Absent: challengers score on the main thread like every version.
   */
  challengerThread?: ThreadScorer;
  /** Where shadow calls are tracked, so the server can wait for them before it closes the prediction log. */
  afterResponse?: AfterResponse;
  /** Flipped by the server on SIGTERM so `/ready` turns false before connections drain. */
  lifecycle: { shuttingDown: boolean };
}

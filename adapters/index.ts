/**
 * Course contracts that must keep their exact shape: each adapter maps one onto the generic platform and is the
 * only code that names its model's fields. The platform mounts what is listed here and special-cases nothing else.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../api/deps.js';
import type { AppEnv } from '../api/env.js';
import type { ApiMetrics } from '../api/metrics.js';
import type { Online } from '../api/online.js';
import { coursePredictRoutes } from './ride-duration/predict.js';

export interface Adapter {
  /** The deployment whose contract this adapter keeps. */
  deployment: string;
  /** Extra HTTP routes (their own paths, documented in the OpenAPI page like any route group). */
  routes?(deps: AppDeps, online: Online, metrics: ApiMetrics): OpenAPIHono<AppEnv>;
  /** Paths of those routes that score: they take the API key only when REQUIRE_KEY_FOR_PREDICT is on. */
  scoringPaths?: string[];
  /** Scoring paths that do not count their own arrival at the batcher (see api/online.ts Arrivals). */
  arrivingPaths?: string[];
}

export const ADAPTERS: readonly Adapter[] = [
  {
    deployment: 'ride-duration',
    routes: coursePredictRoutes,
    scoringPaths: ['/predict', '/predict/batch'],
    arrivingPaths: ['/predict/batch'],
  },
];

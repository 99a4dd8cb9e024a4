/**
 * All activities, built over their dependencies so the worker injects real ones and tests may inject others.
 */
import type { Pool } from '../db/pool.js';
import { createPingActivities } from './ping.js';

export interface ActivityDeps {
  pool: Pool;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

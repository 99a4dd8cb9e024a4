/** What the HTTP app needs, injected by the server entry point (or a test). */
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  pool: Pool;
  temporal: Client;
  /** Flipped by the server on SIGTERM so `/ready` turns false before connections drain. */
  lifecycle: { shuttingDown: boolean };
}

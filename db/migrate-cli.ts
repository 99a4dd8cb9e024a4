/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
import { loadConfig, requireDatabaseUrl } from '../config.js';
import { createLogger } from '../logger.js';
import { runMain } from '../platform/run-main.js';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'migrate');
  const pool = createPool(requireDatabaseUrl(config), { max: 1, logger });
  try {
    const applied = await migrate(pool, { logger });
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
  } finally {
    await pool.end();
  }
});

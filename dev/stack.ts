/**
 * The embedded dependencies of a local stack: Postgres (unless DATABASE_URL is given) and the Temporal dev
 * server (unless TEMPORAL_ADDRESS names a reachable server). Used by `npm start` and the test harness.
 */
import path from 'node:path';
import pg from 'pg';
import { EMBEDDED_DATABASE, type Config } from '../config.js';
import { startEmbeddedPostgres } from './postgres.js';
import { isTemporalReachable, startTemporalDevServer } from './temporal.js';
import { ensureTemporalBinary } from './tools.js';

export interface StackDeps {
  databaseUrl: string;
  temporalAddress: string;
  /** Set when this process started the dev server (and so the Web UI). */
  temporalUiUrl: string | undefined;
  temporalBinary: string | undefined;
  stop(): Promise<void>;
}

export interface StackOptions {
  config: Config;
  /** Database the project uses inside the embedded server. */
  database?: string;
  log: (source: 'postgres' | 'temporal' | 'setup', line: string) => void;
}

export async function startStackDeps({
  config,
  database = EMBEDDED_DATABASE.database,
  log,
}: StackOptions): Promise<StackDeps> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((err: Error) => log('setup', `stop failed: ${err.message}`));
  };
  try {
    let temporalBinary: string | undefined;
    let temporalAddress = config.temporal.address;
    let temporalUiUrl: string | undefined;
    if (temporalAddress) {
      if (!(await isTemporalReachable(temporalAddress))) {
        throw new Error(
          `TEMPORAL_ADDRESS=${temporalAddress} does not answer; start that server or unset TEMPORAL_ADDRESS`,
        );
      }
      log('setup', `using the Temporal server at ${temporalAddress}`);
    } else {
      temporalBinary = await ensureTemporalBinary(config.paths.tools, (m) => log('setup', m));
      const server = await startTemporalDevServer({
        binary: temporalBinary,
        port: config.temporal.port,
        uiPort: config.temporal.uiPort,
        dbFile: path.resolve(config.paths.data, 'temporal', 'temporal.db'),
        namespace: config.temporal.namespace,
        onLine: (line) => log('temporal', line),
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUiUrl = config.temporal.uiUrl;
    }

    let databaseUrl = config.database.url;
    if (databaseUrl) {
      log('setup', 'using the Postgres server at DATABASE_URL');
    } else {
      const server = await startEmbeddedPostgres({
        dataDir: path.resolve(config.paths.data, 'postgres'),
        port: config.database.embeddedPort,
        onLine: (line) => log('postgres', line),
      });
      stops.push(() => server.stop());
      await createDatabaseIfMissing(server.url, database);
      databaseUrl = server.urlFor(database);
    }
    return { databaseUrl, temporalAddress, temporalUiUrl, temporalBinary, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client(adminUrl);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

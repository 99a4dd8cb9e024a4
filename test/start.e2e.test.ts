/**
 * `npm start` as a user runs it: the supervisor brings up Temporal (with Web UI), Postgres, a worker and the API
 * on embedded defaults; SIGINT stops everything and frees the ports; a second start finds the same data; a worker
 * killed with SIGKILL is restarted and the stream it was scoring finishes.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freePorts, isPortOpen } from '../dev/process.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

interface Started {
  exit: Promise<number | null>;
  output: () => string;
  interrupt: () => void;
}

function startStack(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'dev/start.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { exit, output: () => output, interrupt: () => child.kill('SIGINT') };
}

/** Waits (bounded) for a line of the supervisor's output matching `pattern`. */
async function untilOutput(stack: Started, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = stack.output().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} after ${timeoutMs} ms:\n${stack.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function freshEnv(dataDir: string) {
  const [api, temporal, ui, pg] = (await freePorts(4)) as [number, number, number, number];
  const ports = { api, temporal, ui, pg };
  const env = {
    NODE_ENV: 'development',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    TOOLS_DIR: path.join(root, '.tools'),
    PORT: String(ports.api),
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    EMBEDDED_PG_PORT: String(ports.pg),
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
  };
  return { ports, env };
}

async function untilReady(stack: Started, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  while (!stack.output().includes('Ready in')) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`not ready after ${timeoutMs} ms:\n${stack.output()}`);
    const exited = await Promise.race([
      stack.exit.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 200)),
    ]);
    if (exited) throw new Error(`npm start exited before ready:\n${stack.output()}`);
  }
  return Date.now() - started;
}

describe('npm start (dev/start.ts)', () => {
  let dataDir = '';
  let restartDir = '';
  afterAll(async () => {
    for (const dir of [dataDir, restartDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exits non-zero naming the variable when the environment is bad', async () => {
    const stack = startStack({ PORT: 'abc' });
    expect(await stack.exit).toBe(1);
    expect(stack.output()).toMatch(/PORT: must be a number \(got "abc"\)/);
  });

  it('says what is wrong with a secret without printing it', async () => {
    const stack = startStack({ API_KEY: 'hunter2-short', DATABASE_URL: 'mysql://rides:s3cr3t-pw@db/rides' });
    expect(await stack.exit).toBe(1);
    expect(stack.output()).toContain('API_KEY: must be at least 16 characters');
    expect(stack.output()).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    expect(stack.output()).toContain('mysql://rides:***@db/rides');
    expect(stack.output()).not.toContain('hunter2');
    expect(stack.output()).not.toContain('s3cr3t-pw');
  });

  it(
    'restarts a worker killed with SIGKILL (log line, backoff) and the stream it was scoring finishes',
    { timeout: 240_000 },
    async () => {
      restartDir = await mkdtemp(path.join(root, '.data', 'test-restart-'));
      const { ports, env } = await freshEnv(restartDir);
      const stack = startStack(env);
      await untilReady(stack);
      try {
        const key = (await readFile(path.join(restartDir, 'api-key'), 'utf8')).trim();
        const api = `http://127.0.0.1:${ports.api}`;
        const send = async (from: number, count: number) => {
          const events = Array.from({ length: count }, (_, i) => ({
            ride: { PULocationID: 10 + i, DOLocationID: 50, trip_distance: 2 + i },
            ride_id: from + i,
            event_id: `e-${from + i}`,
          }));
          const res = await fetch(`${api}/streams/restart/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(events),
          });
          expect(res.status, await res.clone().text()).toBe(202);
        };
        const db = new pg.Client(`postgres://postgres:postgres@127.0.0.1:${ports.pg}/rides`);
        await db.connect();
        const persisted = async () =>
          (
            await db.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM stream_predictions WHERE stream_id = 'restart'",
            )
          ).rows[0]?.n ?? 0;
        const until = async (what: string, check: () => Promise<boolean>) => {
          const deadline = Date.now() + 90_000;
          while (!(await check())) {
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${stack.output()}`);
            await new Promise((r) => setTimeout(r, 250));
          }
        };
        try {
          await send(1, 3);
          await until('the first 3 predictions', async () => (await persisted()) === 3);

          const pidFile = path.join(restartDir, 'run', 'worker.pid');
          const pid = Number((await readFile(pidFile, 'utf8')).trim());
          expect(stack.output()).toContain(`worker started (pid ${pid})`);
          process.kill(pid, 'SIGKILL');
          await untilOutput(stack, /worker exited unexpectedly \(code \d+\); restarting it in 1 s/);
          await send(4, 3);
          const [, next] = await untilOutput(
            stack,
            new RegExp(`worker started \\(pid (?!${pid}\\))(\\d+)\\)`),
          );
          expect(Number((await readFile(pidFile, 'utf8')).trim())).toBe(Number(next));
          await until(
            'all 6 predictions, 3 of them after the restart',
            async () => (await persisted()) === 6,
          );
          expect((await fetch(`${api}/ready`)).status, 'the stack kept running').toBe(200);
        } finally {
          await db.end();
        }
      } finally {
        stack.interrupt();
        expect(await stack.exit).toBe(0);
      }
      await expect(readFile(path.join(restartDir, 'run', 'worker.pid'), 'utf8')).rejects.toThrow(/ENOENT/);
    },
  );

  it(
    'starts everything, stops cleanly on SIGINT, and a second start finds the same data',
    { timeout: 240_000 },
    async () => {
      dataDir = await mkdtemp(path.join(root, '.data', 'test-start-'));
      const { ports, env } = await freshEnv(dataDir);
      const temporal = inject('temporalBinary');
      const address = `127.0.0.1:${ports.temporal}`;
      const dbUrl = `postgres://postgres:postgres@127.0.0.1:${ports.pg}/rides`;

      const first = startStack(env);
      const readyMs = await untilReady(first);
      expect(readyMs).toBeLessThan(90_000);
      expect(first.output()).toContain(`Temporal Web UI  http://localhost:${ports.ui}`);
      const ready = await fetch(`http://127.0.0.1:${ports.api}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ready',
        dependencies: { postgres: { ok: true }, temporal: { ok: true } },
      });
      expect((await fetch(`http://127.0.0.1:${ports.ui}/`)).status).toBe(200);
      // Control endpoints are never open: the development key is generated once, private, and works.
      const keyFile = path.join(dataDir, 'api-key');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const key = (await readFile(keyFile, 'utf8')).trim();
      expect((await fetch(`http://127.0.0.1:${ports.api}/models`)).status).toBe(401);
      const models = await fetch(`http://127.0.0.1:${ports.api}/models`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(models.status).toBe(200);
      const listed = await run(temporal, ['workflow', 'list', '--address', address, '--output', 'json']);
      expect(listed.stdout).toMatch(/"type":\s*\{\s*"name":\s*"ping"/);

      first.interrupt();
      expect(await first.exit).toBe(0);
      for (const port of Object.values(ports))
        expect(await isPortOpen('127.0.0.1', port), `port ${port} freed`).toBe(false);
      const leftovers = await run('pgrep', ['-f', dataDir]).then(
        (r) => r.stdout.trim(),
        () => '',
      );
      expect(leftovers, 'no process of the stack is left').toBe('');

      const second = startStack(env);
      await untilReady(second);
      const client = new pg.Client(dbUrl);
      await client.connect();
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pings');
      await client.end();
      expect(rows[0]?.n, 'the first run’s ping row survived, plus the second run’s').toBe(2);
      const history = await run(temporal, ['workflow', 'list', '--address', address, '--output', 'json']);
      expect(
        history.stdout.match(/"name":\s*"ping"/g)?.length,
        'Temporal kept the first run’s workflow',
      ).toBe(2);
      second.interrupt();
      expect(await second.exit).toBe(0);
    },
  );
});

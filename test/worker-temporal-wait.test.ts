/**
 * The worker process against a Temporal server that is down: started before the server, it waits with a log line
 * per attempt instead of exiting; it keeps running across a server crash and restart (SIGKILL); and it still
 * stops cleanly (exit 0) on SIGTERM. A real worker process, a real dev server on its own port and file, Postgres.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PING_WORKFLOW, type PingResult } from '../contracts/temporal.js';
import { freePort, waitFor, type Managed } from '../dev/process.js';
import { spawnService, startTemporal, type TemporalDev } from '../dev/stack.js';
import { createTestDatabase, uniqueId, type TestDatabase } from './helpers.js';

describe('worker process while Temporal is down', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let port: number;
  let temporal: TemporalDev | undefined;
  let worker: Managed | undefined;
  const lines: string[] = [];
  const taskQueue = uniqueId('tq-wait');
  const start = () =>
    startTemporal({
      binary: inject('temporalBinary'),
      port,
      dbFile: path.join(inject('runDir'), `${taskQueue}.db`),
    });
  const seen = (msg: string) => lines.filter((l) => l.includes(`"msg":"${msg}"`)).length;

  beforeAll(async () => {
    db = await createTestDatabase();
    port = await freePort();
  });
  afterAll(async () => {
    await worker?.stop(10_000);
    await temporal?.stop();
    await db?.drop();
  });

  it('waits for the server at start, survives its restart, and exits 0 on SIGTERM', async () => {
    worker = spawnService('worker', {
      name: 'worker-wait',
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        DATABASE_URL: db.url,
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        TEMPORAL_TASK_QUEUE: taskQueue,
        WORKFLOW_BUNDLE: inject('workflowBundle'),
      },
      onLine: (l) => lines.push(l),
    });
    const exited = worker.exited.then((code) => ({ code }));
    await waitFor('two waiting lines', () => Promise.resolve(seen('waiting for Temporal') >= 2), 60_000, 100);
    expect(await Promise.race([exited, Promise.resolve('running')])).toBe('running');

    temporal = await start();
    await waitFor('worker started', () => Promise.resolve(seen('worker started') === 1), 60_000, 100);
    const ping = async (): Promise<PingResult> => {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      try {
        const client = new Client({ connection, namespace: 'default' });
        const id = uniqueId('ping');
        return (await client.workflow.execute(PING_WORKFLOW, {
          taskQueue,
          workflowId: id,
          args: [{ id, message: 'after the outage' }],
          workflowExecutionTimeout: '60s',
        })) as PingResult;
      } finally {
        await connection.close();
      }
    };
    expect(await ping()).toBeDefined();

    // A crash of the server while the worker polls: the worker outlives it and serves the next workflow.
    temporal.child.kill('SIGKILL');
    await temporal.exited;
    temporal = await start();
    expect(await ping()).toBeDefined();
    expect(await Promise.race([exited, Promise.resolve('running')])).toBe('running');

    worker.child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0 });
    expect(seen('worker stopped')).toBe(1);
  });
});

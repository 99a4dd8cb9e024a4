/**
 * Secrets never reach the logs: the API process runs at debug level with a known API key and database password,
 * serves requests that carry the key (right and wrong), fails a few, and its whole output is searched.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, waitFor } from '../../dev/process.js';
import { createTestDatabase, type TestDatabase } from '../helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
const API_KEY = 'sk-live-SECRET-4f1d2c3b5a697887';

describe('secrets in logs', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it(
    'neither the API key nor the database password appears in any log line',
    { timeout: 120_000 },
    async () => {
      const port = await freePort();
      const password = new URL(db.url).password;
      expect(password.length).toBeGreaterThan(3);
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'api/server.ts')], {
        cwd: root,
        env: {
          ...process.env,
          NODE_ENV: 'production',
          LOG_LEVEL: 'trace',
          DATABASE_URL: db.url,
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          PORT: String(port),
          HOST: '127.0.0.1',
          API_KEY,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitFor('API ready', async () => (await fetch(`${base}/ready`)).ok, 60_000);
        const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
        await fetch(`${base}/predict`, {
          method: 'POST',
          headers: auth,
          body: '{"PULocationID": 10, "DOLocationID": 50, "trip_distance": 4}',
        });
        await fetch(`${base}/predict`, { method: 'POST', headers: auth, body: '{"broken' });
        await fetch(`${base}/models`, { headers: auth });
        await fetch(`${base}/batch-runs`, {
          method: 'POST',
          headers: auth,
          body: '{"from": "nope", "to": "x"}',
        });
        await fetch(`${base}/batch-runs`, {
          method: 'POST',
          headers: { ...auth, authorization: `Bearer ${API_KEY}-wrong` },
          body: '{}',
        });
        await fetch(`${base}/schedules`, { headers: { authorization: `Bearer ${API_KEY.slice(0, -1)}` } });
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exit).toBe(0);
      expect(output.length, 'the API logged something at trace level').toBeGreaterThan(200);
      expect(output).not.toContain(API_KEY);
      expect(output).not.toContain(API_KEY.slice(0, -1));
      expect(output).not.toContain(`:${password}@`);
      expect(output).not.toMatch(new RegExp(`password["':= ]+${password}`));
    },
  );
});

/**
 * As root, embedded Postgres runs as the `postgres` user; a checkout that user cannot enter (under /root, mode
 * 0700) must still start with no settings: the cluster moves to a folder it can reach, and says where.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres } from './stack.js';
import { freePort } from './process.js';

const isRoot = os.userInfo().uid === 0;

describe.skipIf(!isRoot)(
  'embedded Postgres as root (skipped: only root runs Postgres as another user)',
  () => {
    let locked = '';
    afterAll(async () => {
      if (locked) await rm(locked, { recursive: true, force: true });
    });

    it('comes up for a data dir under a 0700 parent, in a folder it names, and removes it when ephemeral', async () => {
      locked = await mkdtemp(path.join(os.tmpdir(), 'locked-home-'));
      await mkdir(path.join(locked, 'clone', '.data'), { recursive: true });
      expect((await stat(locked)).mode & 0o777).toBe(0o700);
      const dataDir = path.join(locked, 'clone', '.data', 'postgres');
      const lines: string[] = [];
      const server = await startPostgres({
        dataDir,
        port: await freePort(),
        ephemeral: true,
        onLine: (line) => lines.push(line),
      });
      try {
        expect(server.dataDir.startsWith(locked)).toBe(false);
        expect(lines.join('\n')).toContain(`the cluster for ${dataDir} lives in ${server.dataDir}`);
        const client = new pg.Client(server.url);
        await client.connect();
        const { rows } = await client.query<{ dir: string }>(
          "SELECT current_setting('data_directory') AS dir",
        );
        await client.end();
        expect(rows[0]?.dir).toBe(server.dataDir);
        expect((await stat(locked)).mode & 0o777, 'the locked parent was left as it was').toBe(0o700);
      } finally {
        await server.stop();
      }
      await expect(stat(server.dataDir)).rejects.toThrow(/ENOENT/);
    });
  },
);

import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';
import { migrate, readMigrations } from './migrate.js';

describe('migrate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('the template already has every migration, and a second run applies nothing', async () => {
    const all = await readMigrations();
    const { rows } = await db.pool.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
    expect(await migrate(db.pool)).toEqual([]);
  });

  it('is safe from two sessions at once (advisory lock): each migration applies exactly once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await writeFile(
      path.join(dir, '900-slow.sql'),
      'SELECT pg_sleep(0.3); CREATE TABLE concurrent_a (id int);',
    );
    await writeFile(path.join(dir, '901-next.sql'), 'CREATE TABLE concurrent_b (id int);');
    const results = await Promise.all([migrate(db.pool, { dir }), migrate(db.pool, { dir })]);
    expect(results.flat().sort()).toEqual([900, 901]);
    const { rows } = await db.pool.query(
      'SELECT version FROM schema_migrations WHERE version >= 900 ORDER BY version',
    );
    expect(rows).toEqual([{ version: 900 }, { version: 901 }]);
  });

  it('rolls a failing migration back completely and names it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await writeFile(
      path.join(dir, '950-broken.sql'),
      'CREATE TABLE half_done (id int); SELECT no_such_function();',
    );
    await expect(migrate(db.pool, { dir })).rejects.toThrow(
      /Migration 950-broken failed: .*no_such_function/,
    );
    const { rows } = await db.pool.query(
      "SELECT (SELECT count(*)::int FROM schema_migrations WHERE version = 950) AS recorded, to_regclass('half_done') AS tbl",
    );
    expect(rows).toEqual([{ recorded: 0, tbl: null }]);
  });

  it('refuses badly named files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await writeFile(path.join(dir, 'oops.sql'), 'SELECT 1');
    await expect(readMigrations(dir)).rejects.toThrow(/oops.sql does not match NNN-name.sql/);
  });
});

/** The two CLIs end to end, as a user runs them: generate --out, ingest twice, generate --db, and a failure. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';

const run = promisify(execFile);

describe('npm run generate / npm run ingest', () => {
  let db: TestDatabase;
  let dir: string;
  const cli = (script: string, args: string[]) =>
    run(process.execPath, ['--import', 'tsx', path.join('cli', script), ...args], {
      env: { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    });
  const count = async () =>
    Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM rides')).rows[0]?.n ?? -1);

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'data-cli-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('generates a file into a folder, ingests it, and reports the re-ingest as already present', async () => {
    const gen = await cli('generate.ts', [
      '--month',
      '2024-03',
      '--rows',
      '3000',
      '--seed',
      '5',
      '--out',
      dir,
    ]);
    const file = path.join(dir, 'green_tripdata_2024-03.parquet');
    expect(gen.stdout).toMatch(new RegExp(`^wrote 3000 rows to ${file} in `));

    const first = await cli('ingest.ts', [file]);
    expect(first.stdout).toMatch(/^file +rows read +inserted +already present +skipped +seconds +rows\/s\n/);
    expect(first.stdout).toMatch(/\ngreen_tripdata_2024-03\.parquet +3000 +3000 +0 +0 /);
    expect(first.stderr).toContain(`${file}: 3000/3000 rows`); // not a TTY: plain progress lines
    const second = await cli('ingest.ts', [file]);
    expect(second.stdout).toMatch(/\ngreen_tripdata_2024-03\.parquet +3000 +0 +3000 +0 /);
    expect(await count()).toBe(3000);
  });

  it('generates straight into the database with --db and --file-name', async () => {
    const out = await cli('generate.ts', [
      '--month',
      '2024-05',
      '--rows',
      '2000',
      '--db',
      '--file-name',
      'cli-test',
    ]);
    expect(out.stdout).toMatch(/\ncli-test +2000 +2000 +0 +0 /);
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM rides WHERE source_file = 'cli-test' AND ride_id LIKE '2024/05\\_%'`,
    );
    expect(rows[0]?.n).toBe('2000');
  });

  it('exits 1 with the reason on a file that is not TLC-shaped, and writes nothing', async () => {
    const other = path.join(dir, 'other_tripdata_2024-06.parquet');
    parquetWriteFile({ filename: other, columnData: [{ name: 'x', data: [1], type: 'INT32' }] });
    const before = await count();
    const error = await cli('ingest.ts', [other]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain(
      `ingest failed, nothing written for this file: ${other}: not a TLC trip file: missing columns VendorID, `,
    );
    expect(await count()).toBe(before);
  });
});

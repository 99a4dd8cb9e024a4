/** `npm run load` as a user runs it: the summary, the re-load, a refusal on stderr with exit 1, the usage. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';

const run = promisify(execFile);

describe('npm run load', () => {
  let db: TestDatabase;
  let dir: string;
  const load = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', path.join('cli', 'load.ts'), ...args], {
      env: { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    });
  const failure = (args: string[]) =>
    load(args).then(
      () => expect.fail('the command succeeded'),
      (e: unknown) => e as { code: number; stdout: string; stderr: string },
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'load-cli-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates and fills the table, reports the re-load as already present, and names a refusal', async () => {
    const file = path.join(dir, 'penguins.csv');
    await writeFile(file, 'penguin_id,species,body_mass_g\n0,Adelie,3750.0\n1,Gentoo,\n2,Chinstrap,3500\n');
    const first = await load([file, '--table', 'penguins', '--key', 'penguin_id']);
    expect(first.stdout).toBe(
      'table penguins (created): penguin_id bigint (key), species text, body_mass_g double precision\n' +
        `${file}: 3 rows read, 3 inserted, 0 already present in ${/\d+\.\d\d/.exec(first.stdout)?.[0] ?? '?'} s\n`,
    );
    expect(first.stderr).toContain(`${file}: 3/3 rows`); // not a TTY: plain progress lines
    const second = await load([file, '--table', 'penguins', '--key', 'penguin_id']);
    expect(second.stdout).toMatch(/^table penguins \(existing\): /);
    expect(second.stdout).toContain(`${file}: 3 rows read, 0 inserted, 3 already present in `);

    const refused = await failure([file, '--table', 'penguins', '--key', 'id']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `load failed, nothing written: ${file}: key column "id" is not in the file; its columns are: ` +
        'penguin_id, species, body_mass_g\n',
    );
    const count = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM penguins');
    expect(count.rows[0]?.n).toBe('3');
  });

  it('prints the usage and exits 2 without --table or --key', async () => {
    const e = await failure(['x.csv', '--table', 't']);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(
      /^missing --key\nusage: npm run load -- <file\.csv\|file\.parquet> --table <name> --key/,
    );
  });
});

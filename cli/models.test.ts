/** The models CLI against a real database: list, show, promote (and its failures). */
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dev/process.js';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestScorer, TEST_MODEL_DIR, type TestDatabase } from '../test/helpers.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { runModelsCommand, type CliIo } from './models.js';

function capture(): CliIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (l) => out_.push(l), err: (l) => err_.push(l) };
}

describe('npm run models', () => {
  let db: TestDatabase;
  let scorer: ModelScorer;
  beforeAll(async () => {
    db = await createTestDatabase();
    scorer = await createTestScorer(db.pool);
  });
  afterAll(async () => {
    await scorer?.close();
    await db?.drop();
  });

  it('list shows every version with its aliases, task and metrics', async () => {
    const io = capture();
    expect(await runModelsCommand(['list'], scorer, io)).toBe(0);
    expect(io.out_[0]).toMatch(/^MODEL\s+VERSION\s+ALIASES\s+TASK\s+VALIDATION\s+FIELDS$/);
    expect(io.out_[1]).toMatch(
      /^penguin-species\s+1\s+-\s+classification\s+ACCURACY=1\.0000,LOG_LOSS=0\.0310\s+island,/,
    );
    expect(io.out_[2]).toMatch(
      /^ride-duration\s+1\s+staging\s+regression\s+RMSE=7\.7587,MAE=5\.3397\s+PULocationID,DOLocationID,trip_distance$/,
    );
    const card = JSON.parse(
      readFileSync(new URL('../models/ride-duration/2/model.json', import.meta.url), 'utf8'),
    ) as {
      metrics: { validation: { rmse: number } };
    };
    const rmse = card.metrics.validation.rmse.toFixed(4).replace('.', '\\.');
    expect(io.out_[3]).toMatch(new RegExp(`^ride-duration\\s+2\\s+production\\s+regression\\s+RMSE=${rmse}`));
    expect(io.out_).toHaveLength(4);
  });

  it('promote moves the alias in the table, and list/show reflect it', async () => {
    const io = capture();
    expect(
      await runModelsCommand(['promote', 'ride-duration', '1', '--alias', 'production'], scorer, io),
    ).toBe(0);
    expect(io.out_).toEqual(['ride-duration@production -> 1 (was 2)']);
    const { rows } = await db.pool.query(
      "SELECT version FROM model_aliases WHERE model_name = 'ride-duration' AND alias = 'production'",
    );
    expect(rows).toEqual([{ version: '1' }]);

    const shown = capture();
    expect(await runModelsCommand(['show', 'ride-duration'], scorer, shown)).toBe(0);
    expect(shown.out_[0]).toBe('ride-duration@1 (production, staging)');
    expect(shown.out_).toContain('  validation:  RMSE 7.7587  MAE 5.3397');

    expect(await runModelsCommand(['promote', 'ride-duration', '2'], scorer, capture())).toBe(0);
    expect(await scorer.resolve('ride-duration')).toEqual({ name: 'ride-duration', version: '2' });
  });

  it('fails clearly on an unloaded version, an unknown ref or bad usage', async () => {
    const bad = capture();
    expect(await runModelsCommand(['promote', 'ride-duration', '5'], scorer, bad)).toBe(1);
    expect(bad.err_).toEqual([
      'Cannot set ride-duration@production: version "5" is not loaded (loaded: 1, 2)',
    ]);
    const unknown = capture();
    expect(await runModelsCommand(['show', 'taxi-fare'], scorer, unknown)).toBe(1);
    expect(unknown.err_[0]).toMatch(/^Model "taxi-fare" not found: unknown model "taxi-fare"/);
    const usage = capture();
    expect(await runModelsCommand(['frobnicate'], scorer, usage)).toBe(2);
    expect(usage.err_[0]).toMatch(/^Usage:/);
  });

  it('runs as `npm run models` does: with DATABASE_URL, and without it against the npm start database', async () => {
    const run = promisify(execFile);
    const cwd = fileURLToPath(new URL('../', import.meta.url));
    const args = ['--import', 'tsx', 'cli/models.ts'];
    const env = { ...process.env, MODEL_DIR: TEST_MODEL_DIR, LOG_LEVEL: 'warn' };
    const ok = await run(process.execPath, [...args, 'show', 'ride-duration@staging'], {
      cwd,
      env: { ...env, DATABASE_URL: db.url },
    });
    expect(ok.stdout.split('\n')[0]).toBe('ride-duration@1 (staging)');
    // Without DATABASE_URL the CLI uses the embedded database of `npm start`; none runs on this port here.
    const port = await freePort();
    const failed = await run(process.execPath, [...args, 'list'], {
      cwd,
      env: { ...env, DATABASE_URL: '', EMBEDDED_PG_PORT: String(port) },
    }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  });
});

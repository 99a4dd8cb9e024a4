/** `npm run deployments`: the registry as the worker checks it, refused ones with both sides named. */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelScorer } from '../scoring/scorer.js';
import {
  createTestDatabase,
  createTestScorer,
  loadTestDeployments,
  TEST_DEPLOYMENT_DIR,
  type TestDatabase,
} from '../test/helpers.js';
import { listDeployments } from './deployments.js';
import type { CliIo } from './models.js';

function capture(): CliIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (l) => out_.push(l), err: (l) => err_.push(l) };
}

describe('npm run deployments', () => {
  let db: TestDatabase;
  let scorer: ModelScorer;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    scorer = await createTestScorer(db.pool);
    dir = await mkdtemp(path.join(os.tmpdir(), 'deployments-'));
    await cp(path.join(TEST_DEPLOYMENT_DIR, 'ride-duration.json'), path.join(dir, 'ride-duration.json'));
    await cp(path.join(TEST_DEPLOYMENT_DIR, 'penguin-species.json'), path.join(dir, 'penguin-species.json'));
    await writeFile(
      path.join(dir, 'churn.json'),
      JSON.stringify({
        name: 'churn',
        model: 'churn@production',
        batch: { source: { table: 'customers', key: 'id' } },
      }),
    );
  });
  afterAll(async () => {
    await scorer?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists each deployment with its model, status and modes, and names why one is refused (exit 1)', async () => {
    const io = capture();
    expect(listDeployments(await loadTestDeployments(db.pool, scorer, { dir }), io)).toBe(1);
    expect(io.out_[0]).toMatch(/^DEPLOYMENT\s+MODEL\s+STATUS\s+MODES$/);
    expect(io.out_[1]).toMatch(/^churn\s+churn@production\s+refused\s+-$/);
    expect(io.out_[2]).toMatch(/^penguin-species\s+penguin-species@production\s+ready\s+online,streaming$/);
    expect(io.out_[3]).toMatch(/^ride-duration\s+ride-duration@production\s+ready\s+online,batch,streaming$/);
    // The penguins table is not loaded in this database: batch waits for it, the other modes serve.
    expect(io.out_.slice(4)).toEqual([
      'penguin-species is waiting:',
      '  batch: table penguins does not exist yet (load it, e.g. npm run load -- file.csv --table penguins --key penguin_id)',
    ]);
    expect(io.err_[0]).toMatch(/^churn \(.*churn\.json\) is refused:$/);
    expect(io.err_[1]).toContain('model: Model "churn@production" not found: unknown model "churn"');
  });
});

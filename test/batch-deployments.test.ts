/**
 * The batch mode over a second deployment (penguin-species, a classifier over a table without event time) on the
 * real Temporal dev server, Postgres and ONNX Runtime; and deployments refused at start (against their tables,
 * against the model's signature) while the ride-duration one still runs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ApplicationFailure } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_WORKFLOW, type BatchRunSummary, type BatchScoringInput } from '../contracts/batch.js';
import { generateIntoDb } from '../data/generate-db.js';
import type { ModelScorer } from '../scoring/scorer.js';
import {
  connectTestTemporal,
  createTestDatabase,
  createTestScorer,
  loadTestDeployments,
  startTestWorker,
  TEST_DEPLOYMENT_DIR,
  uniqueId,
  type TestDatabase,
  type TestTemporal,
  type TestWorker,
} from './helpers.js';
import { loadPenguinTable, readPenguinGolden, type PenguinGolden } from './penguin-table.js';

describe('batch scoring of the penguin-species deployment', () => {
  let db: TestDatabase;
  let temporal: TestTemporal;
  let scorer: ModelScorer;
  let worker: TestWorker;
  let golden: PenguinGolden[];

  beforeAll(async () => {
    golden = await readPenguinGolden();
    db = await createTestDatabase();
    temporal = await connectTestTemporal();
    scorer = await createTestScorer(db.pool);
    await loadPenguinTable(db.pool, golden);
    // As the worker process does at start: penguin_predictions and its rejected table do not exist yet.
    worker = await startTestWorker({ pool: db.pool, scorer, createSinks: true });
  });
  afterAll(async () => {
    await worker?.stop();
    await scorer?.close();
    await temporal?.close();
    await db?.drop();
  });

  const run = async (input: BatchScoringInput, taskQueue = worker.taskQueue) =>
    (
      await temporal.client.workflow.start(BATCH_WORKFLOW, {
        taskQueue,
        workflowId: uniqueId('batch-penguin'),
        args: [input],
      })
    ).result() as Promise<BatchRunSummary>;

  it('creates the sink from the signature and scores every row: one row per key, label + probabilities', async () => {
    const { rows: columns } = await db.pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'penguin_predictions'
       ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'penguin_id', data_type: 'integer' },
      { column_name: 'model_name', data_type: 'text' },
      { column_name: 'model_version', data_type: 'text' },
      { column_name: 'label', data_type: 'text' },
      { column_name: 'probabilities', data_type: 'jsonb' },
      { column_name: 'actual', data_type: 'text' },
      { column_name: 'run_id', data_type: 'text' },
      { column_name: 'scored_at', data_type: 'timestamp with time zone' },
    ]);

    const summary = await run({ deployment: 'penguin-species', chunkSize: 30, batchRows: 16 });
    expect(summary).toMatchObject({
      status: 'completed',
      deployment: 'penguin-species',
      model: { name: 'penguin-species', version: '1' },
      partition: { from: '-infinity', to: 'infinity' },
      rowsScored: golden.length,
      rowsRejected: 0,
      rowsCompared: golden.length,
      rmse: null,
      mae: null,
    });
    const { rows } = await db.pool.query<{
      penguin_id: number;
      label: string;
      probabilities: Record<string, number>;
      actual: string;
    }>(
      `SELECT penguin_id, label, probabilities, actual FROM penguin_predictions WHERE run_id = $1 ORDER BY 1`,
      [summary.runId],
    );
    expect(rows.map((r) => r.penguin_id)).toEqual(golden.map((_, i) => i + 1));
    rows.forEach((r, i) => {
      const g = golden[i] as PenguinGolden;
      expect(r.label, `penguin ${r.penguin_id}`).toBe(g.sklearn_label);
      expect(r.actual).toBe(g.species);
      // jsonb keeps its own key order: compare the set of classes.
      expect(Object.keys(r.probabilities).sort()).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
      for (const [c, p] of Object.entries(g.sklearn_probabilities))
        expect(Math.abs((r.probabilities[c] ?? NaN) - p), `penguin ${r.penguin_id} ${c}`).toBeLessThan(1e-4);
    });
    const { rows: sql } = await db.pool.query<{ accuracy: number }>(
      `SELECT avg((label = actual)::int)::float8 AS accuracy FROM penguin_predictions WHERE run_id = $1`,
      [summary.runId],
    );
    expect(summary.metrics?.accuracy).toBeCloseTo(sql[0]?.accuracy ?? NaN, 12);
    const { rows: ledger } = await db.pool.query(
      `SELECT deployment, partition_key, metrics FROM batch_runs WHERE run_id = $1`,
      [summary.runId],
    );
    expect(ledger).toEqual([
      {
        deployment: 'penguin-species',
        partition_key: 'all',
        metrics: { accuracy: summary.metrics?.accuracy },
      },
    ]);
  });

  it('re-running leaves the same rows, one per key and version', async () => {
    const first = await run({ deployment: 'penguin-species' });
    const before = await db.pool.query(
      `SELECT penguin_id, label, probabilities FROM penguin_predictions ORDER BY 1`,
    );
    const second = await run({ deployment: 'penguin-species', chunkSize: 7 });
    const after = await db.pool.query(
      `SELECT penguin_id, label, probabilities FROM penguin_predictions ORDER BY 1`,
    );
    expect(after.rows).toEqual(before.rows);
    expect(after.rows).toHaveLength(golden.length);
    expect(second.rowsScored).toBe(first.rowsScored);
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM penguin_predictions WHERE run_id = $1`,
      [second.runId],
    );
    expect(rows).toEqual([{ n: golden.length }]);
  });

  it('rejects a bad row naming the field, keyed like the sink, and refuses bounds on a table without event time', async () => {
    await db.pool.query(`UPDATE penguins SET island = 'Atlantis' WHERE penguin_id = 5`);
    try {
      const summary = await run({ deployment: 'penguin-species' });
      expect(summary).toMatchObject({ rowsScored: golden.length - 1, rowsRejected: 1 });
      const { rows } = await db.pool.query(
        `SELECT penguin_id, field FROM penguin_predictions_rejected WHERE run_id = $1`,
        [summary.runId],
      );
      expect(rows).toEqual([{ penguin_id: 5, field: 'island' }]);
    } finally {
      await db.pool.query(`UPDATE penguins SET island = $1 WHERE penguin_id = 5`, [golden[4]?.island]);
    }
    // Fixed in the source, the row is scored by the next run and no longer listed as rejected for this version
    // (catches a stale rejection left beside the new prediction).
    const fixed = await run({ deployment: 'penguin-species' });
    expect(fixed).toMatchObject({ rowsScored: golden.length, rowsRejected: 0 });
    const stale = await db.pool.query(
      `SELECT penguin_id FROM penguin_predictions_rejected WHERE model_name = 'penguin-species' AND model_version = '1'`,
    );
    expect(stale.rows).toEqual([]);
    const scored = await db.pool.query(`SELECT run_id FROM penguin_predictions WHERE penguin_id = 5`);
    expect(scored.rows).toEqual([{ run_id: fixed.runId }]);
    const err: unknown = await run({
      deployment: 'penguin-species',
      from: '2021-02-01',
      to: '2021-02-02',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidBatchInput');
    expect(cause.message).toBe(
      'from: deployment penguin-species has no event_time, so a run scores its whole table (omit from/to)',
    );
  });

  describe('refused deployments', () => {
    let dir: string;
    let refusing: TestWorker;

    const write = (name: string, spec: object) =>
      writeFile(path.join(dir, `${name}.json`), JSON.stringify({ name, ...spec }));

    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'deployments-'));
      await writeFile(
        path.join(dir, 'ride-duration.json'),
        await readFile(path.join(TEST_DEPLOYMENT_DIR, 'ride-duration.json')),
      );
      // Deployment vs table: a field mapped to a column of the wrong type, and a sink whose column does not fit.
      await write('penguin-typed', {
        model: 'penguin-species',
        batch: {
          source: { table: 'penguins', key: 'penguin_id', columns: { island: 'body_mass_g' } },
          sink: { table: 'penguin_typed_predictions' },
        },
      });
      await db.pool.query(`CREATE TABLE penguin_typed_predictions (penguin_id integer, model_name text,
        model_version text, label integer, probabilities jsonb, run_id text, scored_at timestamptz,
        PRIMARY KEY (penguin_id, model_name, model_version))`);
      // Deployment vs signature: a label that is not the model's prediction, a source column that is missing.
      await write('penguin-unsigned', {
        model: 'penguin-species',
        batch: {
          source: {
            table: 'penguins',
            key: 'penguin_id',
            columns: { year: 'hatched' },
            labels: { species: 'species' },
          },
        },
      });
      await generateIntoDb(db.pool, { month: '2030-07', rows: 600, seed: 7 });
      refusing = await startTestWorker({ pool: db.pool, scorer, deploymentDir: dir });
    });
    afterAll(async () => {
      await refusing?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('names both sides of each mismatch, and the other deployments still run', async () => {
      const views = (await loadTestDeployments(db.pool, scorer, { dir })).list();
      expect(views.map((v) => [v.name, v.status])).toEqual([
        ['penguin-typed', 'refused'],
        ['penguin-unsigned', 'refused'],
        ['ride-duration', 'ready'],
      ]);
      expect(views[0]?.problems).toEqual([
        'batch.source.columns: field "island" (string) of penguin-species@1 cannot read column "body_mass_g" of table penguins, which is integer',
        'batch.sink: column "label" of penguin_typed_predictions ("label") is integer, expected text',
      ]);
      expect(views[1]?.problems).toEqual([
        'batch.source.columns: field "year" of penguin-species@1 reads column "hatched", which is not a column of table penguins (map it in batch.source.columns; columns: penguin_id, island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, sex, year, species)',
        'batch.source.labels: "species" is not a prediction of penguin-species@1 (its classification prediction is "label")',
      ]);

      const ride = await run(
        { from: '2030-07-03', to: '2030-07-04', model: 'ride-duration@1' },
        refusing.taskQueue,
      );
      expect(ride).toMatchObject({ status: 'completed', deployment: 'ride-duration' });
      expect(ride.rowsScored).toBeGreaterThan(0);

      const err: unknown = await run({ deployment: 'penguin-typed' }, refusing.taskQueue).catch(
        (e: unknown) => e,
      );
      const app = (err as WorkflowFailedError).cause?.cause as ApplicationFailure | undefined;
      expect(app?.type).toBe('DeploymentRefused');
      expect(app?.nonRetryable).toBe(true);
      expect(app?.message).toContain(
        'deployment: penguin-typed was refused at start: batch.source.columns: field "island"',
      );
    });
  });
});

/**
 * A drift alert starts a retraining when the deployment says `on_alert: true`: a batch run over a shifted penguins
 * table raises its window's alert, the alert hook starts the retraining workflow (trigger `alert`, the drifted
 * fields in its reason), and the run is judged like any other (here refused: the same script retrains a champion as
 * good as itself). The run's window (from the pages'
 * tallies) is the one the API's scan computes for the same rows.
 */
import { afterAll, expect, it } from 'vitest';
import { BATCH_WORKFLOW, type BatchRunSummary } from '../../contracts/batch.js';
import type { DriftWindow } from '../../contracts/monitoring.js';
import { uniqueId } from '../helpers.js';
import { MODEL, startRetrainingStack, type RetrainingStack } from './fixture.js';

let stack: RetrainingStack | undefined;
afterAll(async () => {
  await stack?.close();
});

it(
  'a drift alert starts one retraining (trigger alert), judged against the champion',
  { timeout: 150_000 },
  async () => {
    stack = await startRetrainingStack({ champion: 'repository', retraining: { on_alert: true } });
    const s = stack;
    await s.db.pool.query('UPDATE penguins SET body_mass_g = body_mass_g * 2');
    const summary = (await s.temporal.client.workflow.execute(BATCH_WORKFLOW, {
      taskQueue: s.taskQueue,
      workflowId: uniqueId('batch-alert'),
      args: [{ deployment: MODEL, notify: false, batchRows: 30 }],
    })) as BatchRunSummary;
    expect(summary.status).toBe('completed');
    const { rows } = await s.db.pool.query<{ result: DriftWindow }>(
      "SELECT result FROM drift_windows WHERE deployment = $1 AND mode = 'batch'",
      [MODEL],
    );
    const window = rows[0]?.result;
    expect(window?.drifted).toContain('body_mass_g');
    expect(window?.alert).toBe('raised');
    // The API computes the same window by scanning the table: the figures the run's pages counted.
    const scan = await s.send('POST', `/deployments/${MODEL}/drift`, {});
    expect(scan.status, await scan.clone().text()).toBe(200);
    const scanned = (await scan.json()) as DriftWindow;
    expect(scanned.alert).toBe('already raised');
    expect(scanned.rows).toBe(window?.rows);
    expect(scanned.features.map((f) => f.field)).toEqual(window?.features.map((f) => f.field));
    scanned.features.forEach((f, i) =>
      expect(f.psi, f.field).toBeCloseTo(window?.features[i]?.psi ?? NaN, 12),
    );

    const started = await s.firstRun('the retraining the alert starts');
    expect(started).toMatchObject({ trigger: 'alert' });
    expect(started?.reason).toMatch(/^drift alert on -infinity\.\.infinity: .*body_mass_g.* above PSI 0\.1$/);
    // The script retrains the repository's champion: as good, not better by the margin, so it is refused.
    const result = await s.result(started?.runId ?? '');
    expect(result).toMatchObject({ status: 'refused', version: '2', rollout: null });
    expect(result.outcome).toMatch(/not better by the margin 0\.01$/);
    // The alert was raised once, so one retraining: the scan above found it raised and started nothing.
    expect(await s.runs()).toHaveLength(1);
  },
);

/**
 * The candidate against the champion: the candidate's folder checked as the server loads it (card against graph,
 * every problem listed), then both scored by ONNX Runtime on the latest labelled window, and the gain on the
 * deployment's metric held against its margin.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RetrainingFigures, RetrainingPlan } from '../contracts/retraining.js';
import type { RetrainingSpec } from '../contracts/deployment.js';
import type { Pool } from '../db/pool.js';
import { labelledRows, latestLabelWindow, type LabelledRow } from '../db/queries/retraining.js';
import type { Deployment } from '../platform/deployments.js';
import { evaluate, higherIsBetter, metricProblem, type LabelledRecord } from '../scoring/evaluate.js';
import { loadModel, type LoadedModel } from '../scoring/load-model.js';
import { checkModelFolder } from '../scoring/model-check.js';

export interface Judgement {
  better: boolean;
  reason: string;
  figures: RetrainingFigures | null;
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 1e6) / 1e6);

/** A labelled row as the model's record: batch rows carry source columns, online rows the fields as sent. */
function recordOf(row: LabelledRow, model: LoadedModel, deployment: Deployment): LabelledRecord {
  const columns = deployment.spec.batch?.source.columns ?? {};
  const record: Record<string, unknown> =
    row.from === 'online'
      ? row.row
      : Object.fromEntries(
          model.card.signature.fields.map((f) => [f.name, row.row[columns[f.name] ?? f.name.toLowerCase()]]),
        );
  const label = model.task.kind === 'regression' ? Number(row.label) : String(row.label);
  return { record, label };
}

export async function judgeCandidate(options: {
  pool: Pool;
  deployment: Deployment;
  spec: RetrainingSpec;
  plan: RetrainingPlan;
  champion: LoadedModel;
  candidateDir: string;
  window?: { from?: string; to?: string };
}): Promise<Judgement> {
  const { pool, deployment, spec, plan, champion, candidateDir } = options;
  const problems = await checkModelFolder(candidateDir);
  if (problems.length > 0)
    return { better: false, reason: `the new card does not validate: ${problems.join('; ')}`, figures: null };
  const sha256 = createHash('sha256')
    .update(await readFile(path.join(candidateDir, 'model.onnx')))
    .digest('hex');
  const candidate = await loadModel(candidateDir, plan.model, plan.version, { intraOpThreads: 1 });
  try {
    const misfit = metricProblem(candidate, spec.metric) ?? metricProblem(champion, spec.metric);
    if (misfit) return { better: false, reason: misfit, figures: null };
    const window =
      options.window?.from !== undefined && options.window.to !== undefined
        ? { from: new Date(options.window.from).toISOString(), to: new Date(options.window.to).toISOString() }
        : await latestLabelWindow(pool, deployment.spec.name, spec.window_days);
    if (!window)
      return {
        better: false,
        reason: `no labels for ${deployment.spec.name} yet: nothing to compare the candidate with the champion on`,
        figures: null,
      };
    const source = deployment.spec.batch?.source;
    const rows = (
      await labelledRows(pool, {
        deployment: deployment.spec.name,
        ...window,
        limit: spec.max_rows,
        ...(source ? { source: { table: source.table, key: source.key } } : {}),
      })
    ).map((r) => recordOf(r, champion, deployment));
    const base = { metric: spec.metric, ...window, rows: rows.length, margin: spec.margin, sha256 };
    if (rows.length < spec.min_rows)
      return {
        better: false,
        reason: `${rows.length} labelled rows in ${window.from}..${window.to}, fewer than min_rows ${spec.min_rows}`,
        figures: {
          ...base,
          champion: null,
          candidate: null,
          gain: null,
          rejected: { champion: 0, candidate: 0 },
        },
      };
    const [old, neu] = [
      await evaluate(champion, rows, spec.metric),
      await evaluate(candidate, rows, spec.metric),
    ];
    const gain =
      old.value === null || neu.value === null
        ? null
        : higherIsBetter(spec.metric)
          ? neu.value - old.value
          : old.value - neu.value;
    const figures: RetrainingFigures = {
      ...base,
      champion: round(old.value),
      candidate: round(neu.value),
      gain: round(gain),
      rejected: { champion: old.rejected, candidate: neu.rejected },
    };
    const better = gain !== null && gain > 0 && gain >= spec.margin;
    const said = `${spec.metric} ${figures.candidate} (version ${plan.version}) against ${figures.champion} (champion ${champion.version}) on ${rows.length} labelled rows`;
    return {
      better,
      figures,
      reason: better
        ? `${said}: better by ${figures.gain}, at least the margin ${spec.margin}`
        : `${said}: ${gain === null ? 'no figure' : `gain ${figures.gain}`}, not better by the margin ${spec.margin}`,
    };
  } finally {
    await candidate.session.release().catch(() => undefined);
  }
}

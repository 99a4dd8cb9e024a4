/**
 * Late labels: the check a label must pass for a model's task (shared by the API's feedback route and the stream's
 * `labels` signal), and the streaming workflow's activity that writes a signal's labels, idempotent by key.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { LabelInput } from '../contracts/monitoring.js';
import type { Pool } from '../db/pool.js';
import { upsertLabels } from '../db/queries/labels.js';
import { modelOf, type DeploymentRegistry } from '../platform/deployments.js';
import type { LoadedModel } from '../scoring/load-model.js';
import type { ModelScorer } from '../scoring/scorer.js';

export const LabelSchema = z.object({
  key: z.union([z.string().min(1), z.number()]),
  label: z.union([z.number(), z.string()]),
});

/** A label the model's task can hold, or the problem with it (`field` as `[i].label`). */
export function checkLabel(
  model: LoadedModel,
  raw: unknown,
  i: number,
): LabelInput | { field: string; message: string } {
  const parsed = LabelSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      field: `[${i}]${issue?.path.length ? `.${issue.path.join('.')}` : ''}`,
      message: issue?.message ?? 'invalid',
    };
  }
  const { label } = parsed.data;
  if (model.task.kind === 'regression' && (typeof label !== 'number' || !Number.isFinite(label)))
    return {
      field: `[${i}].label`,
      message: `must be a number (the ${model.task.name}), got ${JSON.stringify(label)}`,
    };
  if (model.task.kind === 'classification') {
    const classes = model.task.classes.map(String);
    if (!classes.includes(String(label)))
      return {
        field: `[${i}].label`,
        message: `must be one of ${classes.join(', ')} (got ${JSON.stringify(label)})`,
      };
  }
  return parsed.data;
}

/**
 * A call's labels checked as a whole (the API's feedback and stream routes): each must fit the model's task, and a
 * key may appear once (two labels for one record in one call are ambiguous; `[j].key` names the repeat).
 */
export function checkLabels(
  model: LoadedModel,
  body: readonly unknown[],
): { labels: LabelInput[]; errors: { field: string; message: string }[] } {
  const labels: LabelInput[] = [];
  const errors: { field: string; message: string }[] = [];
  const seen = new Map<string, number>();
  body.forEach((raw, i) => {
    const checked = checkLabel(model, raw, i);
    if ('field' in checked) return void errors.push(checked);
    const first = seen.get(String(checked.key));
    if (first !== undefined)
      return void errors.push({
        field: `[${i}].key`,
        message: `repeats the key of [${first}] (${JSON.stringify(checked.key)}); send one label per key`,
      });
    seen.set(String(checked.key), i);
    labels.push(checked);
  });
  return { labels, errors };
}

export function createLabelActivities(deps: {
  pool: Pool;
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
}) {
  return {
    /**
     * Writes the labels a stream received (source `stream`); a label that does not fit the deployment's model is
     * dropped and reported. Idempotent: a retry writes the same keys again and changes nothing.
     */
    async recordStreamLabels(input: {
      deployment: string;
      labels: LabelInput[];
    }): Promise<{ inserted: number; updated: number; unchanged: number; refused: string[] }> {
      const deployment = deps.deployments?.get(input.deployment);
      const model = deployment ? modelOf(deps.scorer, deployment.spec) : undefined;
      if (!deployment || !model || typeof model === 'string')
        throw ApplicationFailure.create({
          type: 'DeploymentNotFound',
          message: `deployment ${input.deployment} is not ready on this worker`,
          nonRetryable: true,
        });
      const ok: LabelInput[] = [];
      const refused: string[] = [];
      input.labels.forEach((raw, i) => {
        const checked = checkLabel(model, raw, i);
        if ('field' in checked) refused.push(`${checked.field}: ${checked.message}`);
        else ok.push(checked);
      });
      return { ...(await upsertLabels(deps.pool, input.deployment, ok, 'stream')), refused };
    },
  };
}

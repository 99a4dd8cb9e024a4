/**
 * Activities of the retraining workflow: plan a run (version, command, staging folder), run the training command
 * (heartbeating, cancellable), judge the candidate against the champion, register it by one atomic move into the
 * model folder, start its rollout, and record the outcome. Only the deployment file names the command.
 */
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { RetrainingSpec } from '../contracts/deployment.js';
import type {
  RetrainingFigures,
  RetrainingInput,
  RetrainingPlan,
  RetrainingStatus,
} from '../contracts/retraining.js';
import { controllerId, setCatalogSignal } from '../contracts/routing.js';
import { catalogOf, controllerInput } from '../control/controllers.js';
import { ensureController } from '../control/routing.js';
import type { Pool } from '../db/pool.js';
import { countAttempt, insertRun, lastTraining, setStatus, takenVersions } from '../db/queries/retraining.js';
import { modelOf, type Deployment, type DeploymentRegistry } from '../platform/deployments.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { runCommand } from './retraining-command.js';
import { judgeCandidate, type Judgement } from './retraining-evaluate.js';
import { startRetrainedRollout } from './retraining-rollout.js';
import { withActivityCancel } from './temporal-call.js';

export const MODEL_VERSIONS_CHANNEL = 'model_versions';

export interface RetrainingDeps {
  pool: Pool;
  scorer: ModelScorer;
  deployments?: DeploymentRegistry;
  temporal?: { client: () => Promise<Client>; taskQueue: string };
  /** Where versions are registered (MODEL_DIR), the training venv's python (`{python}`), and the command's cwd. */
  retraining?: { modelDir: string; python: string; cwd: string };
}

const fail = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

function declared(deps: RetrainingDeps, name: string): { deployment: Deployment; spec: RetrainingSpec } {
  const deployment = deps.deployments?.get(name);
  if (!deployment) throw fail('DeploymentNotFound', `deployment "${name}" is not ready on this worker`);
  const spec = deployment.spec.retraining;
  if (!spec) throw fail('RetrainingNotDeclared', `deployment "${name}" declares no retraining block`);
  return { deployment, spec };
}

function setup(deps: RetrainingDeps) {
  if (!deps.retraining)
    throw fail('RetrainingNotConfigured', 'this worker has no model folder for retraining');
  return deps.retraining;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The next free version: above every folder, loaded or refused version, and version a run took before. */
async function nextVersion(deps: RetrainingDeps, modelDir: string, model: string): Promise<string> {
  const seen = [
    ...(await readdir(path.join(modelDir, model)).catch(() => [])),
    ...deps.scorer.registry.versions(model),
    ...deps.scorer.failures().flatMap((f) => (f.name === model ? [f.version] : [])),
    ...(await takenVersions(deps.pool, model)),
  ];
  const top = Math.max(0, ...seen.map(Number).filter((n) => Number.isInteger(n)));
  return String(top + 1);
}

const attemptDir = (plan: RetrainingPlan, attempt: number) =>
  path.join(plan.stagingDir, `attempt-${attempt}`);

export function createRetrainingActivities(deps: RetrainingDeps) {
  const modelName = (d: Deployment) => d.spec.model.split('@')[0] ?? d.spec.model;
  return {
    /** Fixes the run once: its version, its command with the placeholders filled in, its staging folder. */
    async beginRetraining(input: RetrainingInput & { runId: string }): Promise<RetrainingPlan> {
      const { modelDir, python } = setup(deps);
      const { deployment, spec } = declared(deps, input.deployment);
      const champion = modelOf(deps.scorer, deployment.spec);
      if (typeof champion === 'string') throw fail('DeploymentNotFound', champion);
      const model = modelName(deployment);
      // {from}/{to}: the run's training window when it was given one (the API's train_from/train_to), else the time
      // since the last registered training (or the champion's card date) until now.
      const iso = (t: string) => new Date(t).toISOString();
      const from =
        input.trainFrom !== undefined
          ? iso(input.trainFrom)
          : ((await lastTraining(deps.pool, deployment.spec.name)) ?? champion.card.created ?? '');
      const to = input.trainTo !== undefined ? iso(input.trainTo) : new Date().toISOString();
      const version = await nextVersion(deps, modelDir, model);
      const values: Record<string, string> = {
        python,
        version,
        model,
        deployment: deployment.spec.name,
        from,
        to,
      };
      // {out} differs per attempt (an attempt of a killed worker may still be writing its own): filled when run.
      const argv = spec.command.map((arg) =>
        arg.replace(/\{([a-z_]+)\}/g, (all, name: string) => values[name] ?? all),
      );
      const stagingDir = path.join(modelDir, '.staging', input.runId.replace(/[^A-Za-z0-9-]/g, '_'));
      const taken = await insertRun(deps.pool, {
        ...input,
        model,
        version,
        champion: champion.version,
        command: argv,
      });
      return {
        runId: input.runId,
        deployment: deployment.spec.name,
        model,
        version: taken.version,
        champion: champion.version,
        argv: argv.map((a) => a.replaceAll(`{version}`, taken.version)),
        stagingDir,
        timeoutMinutes: spec.timeout_minutes,
      };
    },

    /** Runs the training command into this attempt's own staging folder; heartbeats; killed on cancellation. */
    async runTraining(plan: RetrainingPlan): Promise<{ outDir: string; last: string }> {
      const { cwd } = setup(deps);
      const attempt = Context.current().info.attempt;
      const outDir = attemptDir(plan, attempt);
      await rm(outDir, { recursive: true, force: true });
      await mkdir(outDir, { recursive: true });
      await countAttempt(deps.pool, plan.runId, attempt);
      const argv = plan.argv.map((a) => a.replaceAll('{out}', outDir));
      const ended = await runCommand(argv, { cwd, timeoutMs: plan.timeoutMinutes * 60_000 });
      const last = ended.tail.at(-1) ?? '';
      if (Context.current().cancellationSignal.aborted)
        throw fail('TrainingCancelled', 'training was cancelled');
      if (ended.code !== 0)
        throw fail(
          'TrainingFailed',
          `${path.basename(argv[0] ?? '')} exited with ${ended.signal ?? `code ${ended.code}`}: ${ended.tail.slice(-5).join(' | ') || '(no output)'}`,
        );
      const card = path.join(outDir, plan.model, plan.version, 'model.json');
      if (!(await exists(card)))
        throw fail(
          'TrainingFailed',
          `the command succeeded but wrote no ${plan.model}/${plan.version}/model.json into {out} (wrote: ${(await readdir(outDir)).join(', ') || 'nothing'})`,
        );
      return { outDir, last };
    },

    /** The candidate against the champion on the latest labelled window (or the run's own window). */
    async evaluateCandidate(input: {
      plan: RetrainingPlan;
      outDir: string;
      from?: string;
      to?: string;
    }): Promise<Judgement> {
      const { deployment, spec } = declared(deps, input.plan.deployment);
      const champion = deps.scorer.registry.get(input.plan.model, input.plan.champion);
      if (!champion)
        throw fail(
          'ChampionNotLoaded',
          `champion ${input.plan.model}@${input.plan.champion} is not loaded here`,
        );
      return judgeCandidate({
        pool: deps.pool,
        deployment,
        spec,
        plan: input.plan,
        champion,
        candidateDir: path.join(input.outDir, input.plan.model, input.plan.version),
        window: { ...(input.from ? { from: input.from } : {}), ...(input.to ? { to: input.to } : {}) },
      });
    },

    /**
     * Moves the judged candidate into the model folder (one rename: a version is there whole or not at all), loads
     * it here, tells the other processes (NOTIFY model_versions) and the controller's catalog. A retry after the
     * move finds it there with the same sha256 and goes on.
     */
    async registerCandidate(input: { plan: RetrainingPlan; outDir: string; sha256: string }): Promise<void> {
      const { modelDir } = setup(deps);
      const { plan } = input;
      const target = path.join(modelDir, plan.model, plan.version);
      if (await exists(target)) {
        const card = JSON.parse(await readFile(path.join(target, 'model.json'), 'utf8')) as {
          sha256?: string;
        };
        if (card.sha256 !== input.sha256)
          throw fail(
            'VersionTaken',
            `${plan.model}/${plan.version} exists already with another model (sha256 ${String(card.sha256).slice(0, 12)}…)`,
          );
      } else {
        // A model nobody promoted serves its newest version: pin production to the champion first, so the new
        // version serves only through its rollout.
        if (!deps.scorer.aliasStore.get(plan.model, 'production'))
          await deps.scorer.setAlias(plan.model, 'production', plan.champion);
        await mkdir(path.dirname(target), { recursive: true });
        await rename(path.join(input.outDir, plan.model, plan.version), target);
      }
      await deps.scorer.addVersion(plan.model, plan.version);
      await deps.pool.query('SELECT pg_notify($1, $2)', [
        MODEL_VERSIONS_CHANNEL,
        JSON.stringify({ name: plan.model, version: plan.version }),
      ]);
      const deployment = deps.deployments?.get(plan.deployment);
      if (deps.temporal && deployment) {
        const client = await deps.temporal.client();
        const { taskQueue } = deps.temporal;
        await withActivityCancel(client, async () => {
          await ensureController(
            client,
            taskQueue,
            await controllerInput(client, taskQueue, deps.pool, deps.scorer, deployment),
          );
          await client.workflow
            .getHandle(controllerId(taskQueue, plan.deployment))
            .signal(setCatalogSignal, catalogOf(deps.scorer, plan.model));
        });
      }
    },

    /** Starts the rollout of a registered version (manual approval unless the file says auto). */
    async startRetrainingRollout(plan: RetrainingPlan): Promise<{ rollout: string | null; note: string }> {
      const { spec } = declared(deps, plan.deployment);
      if (!deps.temporal) return { rollout: null, note: 'no rollout: this worker has no Temporal client' };
      const client = await deps.temporal.client();
      const { taskQueue } = deps.temporal;
      return withActivityCancel(client, () => startRetrainedRollout(client, taskQueue, plan, spec));
    },

    async markRetraining(input: { runId: string; status: RetrainingStatus }): Promise<void> {
      await setStatus(deps.pool, input.runId, input.status);
    },

    /** Records how the run ended and removes its staging folder (a refused or failed run leaves nothing else). */
    async finishRetraining(input: {
      runId: string;
      status: RetrainingStatus;
      outcome: string;
      figures: RetrainingFigures | null;
      rollout: string | null;
      stagingDir?: string;
    }): Promise<void> {
      await setStatus(deps.pool, input.runId, input.status, input);
      if (input.stagingDir) await rm(input.stagingDir, { recursive: true, force: true });
    },
  };
}

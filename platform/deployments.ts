/**
 * The deployment registry: every `deployments/<name>.json`, parsed with the deployment schema and held against
 * its model's signature (and, through `checks`, against its tables). A deployment that does not fit is refused
 * with messages naming both sides; the others still run. A mode that only lacks something a user adds later (a
 * batch source table not loaded yet) waits instead: the deployment is ready for its other modes, and `refresh()`
 * checks the waiting ones again.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DEPLOYMENT_NAME,
  deploymentSchema,
  type DeploymentSpec,
  type DeploymentView,
} from '../contracts/deployment.js';
import type { Logger } from '../logger.js';
import type { LoadedModel } from '../scoring/registry.js';
import type { ModelScorer } from '../scoring/scorer.js';

export interface Deployment {
  spec: DeploymentSpec;
  file: string;
}

export type DeploymentMode = DeploymentView['modes'][number];

/** What a check found: mismatches (the deployment is refused) and modes that cannot run yet (and why). */
export interface CheckResult {
  problems: string[];
  waiting?: { mode: DeploymentMode; reason: string }[];
}

/** An extra check of a deployment (its tables, say); returns problems (empty when it fits) or a CheckResult. */
export type DeploymentCheck = (deployment: Deployment, model: LoadedModel) => Promise<string[] | CheckResult>;

export interface DeploymentRegistry {
  /** Ready deployments only. */
  get(name: string): Deployment | undefined;
  /** The ready deployment marked `"default": true`, if any. */
  defaultDeployment(): Deployment | undefined;
  ready(): Deployment[];
  list(): DeploymentView[];
  /** Checks the ready deployments with a waiting mode again (a table loaded since); returns the new list. */
  refresh(): Promise<DeploymentView[]>;
}

/** The loaded version a deployment's model ref points to now, or the reason there is none. */
export function modelOf(scorer: ModelScorer, spec: DeploymentSpec): LoadedModel | string {
  try {
    const resolved = scorer.resolveNow(spec.model);
    return scorer.registry.get(resolved.name, resolved.version) ?? `model ${spec.model} is not loaded`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Mapping problems of the batch source against the model's signature (the table side is a DeploymentCheck). */
function signatureProblems(spec: DeploymentSpec, model: LoadedModel): string[] {
  const problems: string[] = [];
  const fields = model.card.signature.fields.map((f) => f.name);
  for (const field of Object.keys(spec.batch?.source.columns ?? {}))
    if (!fields.includes(field))
      problems.push(
        `batch.source.columns maps "${field}", which is not a field of ${model.ref}'s signature (fields: ${fields.join(', ')})`,
      );
  for (const field of Object.keys(spec.streaming?.defaults ?? {}))
    if (!fields.includes(field))
      problems.push(`streaming.defaults names "${field}", which is not a field of ${model.ref}'s signature`);
  // key_field is not checked against the signature: a record's key (an id column, an event's id) is carried beside
  // the model's inputs, not fed to the model.
  return problems;
}

function modesOf(spec: DeploymentSpec, waiting: Waiting[]): DeploymentView['modes'] {
  // Online scoring needs nothing beyond the model; batch and streaming need their blocks.
  const modes: DeploymentMode[] = [
    'online',
    ...(spec.batch ? (['batch'] as const) : []),
    ...(spec.streaming ? (['streaming'] as const) : []),
  ];
  return modes.filter((m) => !waiting.some((w) => w.mode === m));
}

type Waiting = NonNullable<CheckResult['waiting']>[number];

interface Entry {
  name: string;
  file: string;
  model: string;
  deployment?: Deployment;
  problems: string[];
  waiting: Waiting[];
}

async function readEntry(dir: string, file: string): Promise<Entry> {
  const name = file.replace(/\.json$/, '');
  const entry: Entry = { name, file: path.join(dir, file), model: '', problems: [], waiting: [] };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(entry.file, 'utf8'));
  } catch (err) {
    entry.problems.push(`${file}: cannot be read as JSON (${(err as Error).message})`);
    return entry;
  }
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    for (const i of parsed.error.issues)
      entry.problems.push(`${file}: ${i.path.join('.') || '(file)'}: ${i.message}`);
    return entry;
  }
  entry.model = parsed.data.model;
  if (parsed.data.name !== name)
    entry.problems.push(`${file}: name "${parsed.data.name}" does not match the file name "${name}"`);
  else entry.deployment = { spec: parsed.data, file: entry.file };
  return entry;
}

const waitingText = (w: Waiting) => `${w.mode}: ${w.reason}`;

export async function loadDeployments(options: {
  dir: string;
  scorer: ModelScorer;
  checks?: DeploymentCheck[];
  logger?: Logger;
}): Promise<DeploymentRegistry> {
  const { dir, scorer, logger } = options;
  const runChecks = async (deployment: Deployment, model: LoadedModel) => {
    const problems: string[] = [];
    const waiting: Waiting[] = [];
    for (const check of options.checks ?? []) {
      const found = await check(deployment, model);
      if (Array.isArray(found)) problems.push(...found);
      else {
        problems.push(...found.problems);
        waiting.push(...(found.waiting ?? []));
      }
    }
    return { problems, waiting };
  };
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    logger?.warn({ dir }, 'no deployments folder: only online scoring by model ref');
  }
  const entries: Entry[] = [];
  for (const file of files) {
    const entry = await readEntry(dir, file);
    if (!DEPLOYMENT_NAME.test(entry.name))
      entry.problems.push(`${file}: the file name is not a deployment name`);
    if (entry.deployment) {
      const model = modelOf(scorer, entry.deployment.spec);
      if (typeof model === 'string') entry.problems.push(`model: ${model}`);
      else {
        entry.problems.push(...signatureProblems(entry.deployment.spec, model));
        const found = await runChecks(entry.deployment, model);
        entry.problems.push(...found.problems);
        entry.waiting = found.waiting;
      }
    }
    if (entry.problems.length > 0) {
      delete entry.deployment;
      entry.waiting = [];
      logger?.error(
        { deployment: entry.name, problems: entry.problems },
        `deployment refused: ${entry.name}: ${entry.problems.join('; ')}`,
      );
    } else if (entry.waiting.length > 0) {
      const waiting = entry.waiting.map(waitingText);
      logger?.warn(
        { deployment: entry.name, model: entry.model, waiting },
        `deployment ready, waiting: ${entry.name}: ${waiting.join('; ')}`,
      );
    } else logger?.info({ deployment: entry.name, model: entry.model }, 'deployment ready');
    entries.push(entry);
  }
  const ready = entries.flatMap((e) => (e.deployment ? [e.deployment] : []));
  const defaults = ready.filter((d) => d.spec.default);
  if (defaults.length > 1)
    logger?.warn(
      { deployments: defaults.map((d) => d.spec.name) },
      'more than one default deployment: the first wins',
    );
  const list = (): DeploymentView[] =>
    entries.map((e) => ({
      name: e.name,
      file: path.relative(process.cwd(), e.file),
      model: e.model,
      status: e.deployment ? 'ready' : 'refused',
      problems: e.problems,
      modes: e.deployment ? modesOf(e.deployment.spec, e.waiting) : [],
      waiting: e.waiting.map(waitingText),
    }));
  return {
    get: (name) => ready.find((d) => d.spec.name === name),
    defaultDeployment: () => defaults[0],
    ready: () => [...ready],
    list,
    async refresh() {
      for (const e of entries) {
        if (!e.deployment || e.waiting.length === 0) continue;
        const model = modelOf(scorer, e.deployment.spec);
        if (typeof model === 'string') continue;
        const found = await runChecks(e.deployment, model);
        // A ready deployment stays ready: a mismatch that shows up only now (the table loaded with a column of
        // the wrong type) keeps the waiting mode out, with the mismatch as its reason; a run fails naming it too.
        const mode = e.waiting[0]?.mode ?? 'batch';
        const waiting = [...found.waiting, ...found.problems.map((reason) => ({ mode, reason }))];
        if (waiting.map(waitingText).join('\n') !== e.waiting.map(waitingText).join('\n'))
          logger?.info(
            { deployment: e.name, waiting: waiting.map(waitingText) },
            waiting.length > 0 ? 'deployment still waiting' : 'deployment ready in every mode',
          );
        e.waiting = waiting;
      }
      return list();
    },
  };
}

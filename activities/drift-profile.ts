/**
 * The reference profile of a model version (`npm run models -- profile`): its signature fields over a window of the
 * deployment's batch source (the training data), and, when a scorer is given, the distribution of the version's
 * own predictions over the same rows. The rows are scored a page at a time and their predictions kept in a
 * temporary table, so the profile is computed in Postgres like every window is.
 */
import type { FieldRecord, Scorer } from '../contracts/scoring.js';
import type { ReferenceProfile } from '../contracts/monitoring.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { profileSample } from '../db/queries/drift.js';
import { quote } from '../db/queries/batch-tables.js';
import type { Deployment } from '../platform/deployments.js';
import type { LoadedModel } from '../scoring/load-model.js';
import { predictionOf, sourceColumns, sourceSample, type Window } from './drift-samples.js';

const PAGE = 10_000;

/** SELECT list that reads each signature field as the scorer takes it (numbers, text, ISO time text). */
function recordSelect(deployment: Deployment, model: LoadedModel): string {
  const columns = deployment.spec.batch?.source.columns ?? {};
  return model.card.signature.fields
    .map((f) => {
      const c = quote(columns[f.name] ?? f.name.toLowerCase());
      const value =
        f.type === 'integer' || f.type === 'number'
          ? `${c}::float8`
          : f.type === 'string'
            ? `${c}::text`
            : `to_json(${c}) #>> '{}'`;
      return `${value} AS ${quote(f.name)}`;
    })
    .join(', ');
}

/** Scores the window page by page (key order) into `pg_temp.profile_predictions(v)`. */
async function scoreInto(
  db: PoolClient,
  scorer: Scorer,
  deployment: Deployment,
  model: LoadedModel,
  w: Window,
  numeric: boolean,
): Promise<void> {
  const source = deployment.spec.batch?.source;
  if (!source) return;
  const key = quote(source.key);
  const sample = sourceSample(deployment, w);
  await db.query(
    `CREATE TEMP TABLE profile_predictions (v ${numeric ? 'float8' : 'text'}) ON COMMIT PRESERVE ROWS`,
  );
  let last: unknown;
  for (;;) {
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    const text = `SELECT ${key} AS __key, ${recordSelect(deployment, model)} FROM ${sample.from}
                   WHERE ${sample.where(arg)} ${last === undefined ? '' : `AND ${key} > ${arg(last)}`}
                   ORDER BY ${key} LIMIT ${PAGE}`;
    const { rows } = await db.query<Record<string, unknown>>(text, args);
    if (rows.length === 0) return;
    last = rows[rows.length - 1]?.__key;
    const out = await scorer.score(
      { name: model.name, version: model.version },
      rows.map(({ __key, ...record }) => record as FieldRecord),
    );
    const values = out.predictions.filter((p) => p !== null && p !== undefined);
    await db.query(`INSERT INTO profile_predictions SELECT unnest($1::${numeric ? 'float8' : 'text'}[])`, [
      numeric ? values.map(Number) : values.map(String),
    ]);
    if (rows.length < PAGE) return;
  }
}

export async function profileDeployment(
  pool: Pool,
  deployment: Deployment,
  model: LoadedModel,
  from?: string,
  to?: string,
  scorer?: Scorer,
): Promise<ReferenceProfile> {
  const w: Window = { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
  const sample = sourceSample(deployment, w);
  const table = deployment.spec.batch?.source.table ?? '';
  const source = `${table}${from !== undefined ? ` ${from}..${to ?? ''}` : ''}`;
  const { rows, features } = await profileSample(pool, sample, sourceColumns(deployment, model));
  const profile: ReferenceProfile = { source, rows, features };
  const prediction = predictionOf(model);
  if (!scorer || !prediction || rows === 0) return profile;
  const db = await pool.connect();
  try {
    const numeric = prediction.kind === 'numeric';
    await scoreInto(db, scorer, deployment, model, w, numeric);
    const predicted = await profileSample(db, { from: 'pg_temp.profile_predictions', where: () => 'TRUE' }, [
      { field: prediction.name, kind: prediction.kind, value: () => 'v' },
    ]);
    const found = predicted.features[prediction.name];
    if (found) profile.prediction = { name: prediction.name, ...found };
  } finally {
    await db.query('DROP TABLE IF EXISTS pg_temp.profile_predictions').catch(() => undefined);
    db.release();
  }
  return profile;
}

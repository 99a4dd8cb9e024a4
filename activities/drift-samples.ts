/**
 * Where each mode's window of a deployment reads its rows, as SQL samples (db/queries/drift.ts): the batch source
 * over its event time and the sink's predictions of the runs of that partition, and online and stream predictions
 * by the time they were made (their recorded inputs: `features` of both tables). Only the card's signature and the
 * deployment's declarations name fields and columns.
 */
import type { MonitoredMode } from '../contracts/monitoring.js';
import type { Sample, ProfiledColumn } from '../db/queries/drift.js';
import { quote, quoteTable, type SinkLayout } from '../db/queries/batch-tables.js';
import type { Deployment } from '../platform/deployments.js';
import type { LoadedModel } from '../scoring/load-model.js';

export class DriftInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'DriftInputError';
  }
}

export interface Window {
  from?: string;
  to?: string;
}

export type Kind = ProfiledColumn['kind'];

export function signatureFields(model: LoadedModel): { field: string; kind: Kind }[] {
  return model.card.signature.fields.flatMap((f): { field: string; kind: Kind }[] => {
    if (f.type === 'integer' || f.type === 'number') return [{ field: f.name, kind: 'numeric' }];
    if (f.type === 'string') return [{ field: f.name, kind: 'categorical' }];
    return [];
  });
}

/** The signature fields a profile covers, read from the batch source's columns. */
export function sourceColumns(deployment: Deployment, model: LoadedModel): ProfiledColumn[] {
  const columns = deployment.spec.batch?.source.columns ?? {};
  return signatureFields(model).map(({ field, kind }) => {
    const c = quote(columns[field] ?? field.toLowerCase());
    return { field, kind, value: () => (kind === 'numeric' ? `${c}::float8` : `${c}::text`) };
  });
}

/** The same fields read from a prediction row's recorded inputs (`<alias>.features`, json or jsonb: the value is cast). */
export function recordedColumns(model: LoadedModel, alias: string): ProfiledColumn[] {
  return signatureFields(model).map(({ field, kind }) => ({
    field,
    kind,
    value: (arg) => {
      const v = `(${alias}.features -> ${arg(field)})::jsonb`;
      return kind === 'numeric'
        ? `CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v} #>> '{}')::float8 END`
        : `CASE WHEN jsonb_typeof(${v}) IN ('string', 'number') THEN ${v} #>> '{}' END`;
    },
  }));
}

/** The prediction's name and kind: the regression's name (a number), or the class label. */
export function predictionOf(model: LoadedModel): { name: string; kind: Kind } | undefined {
  if (model.task.kind === 'regression') return { name: model.task.name, kind: 'numeric' };
  if (model.task.kind === 'classification') return { name: 'label', kind: 'categorical' };
  return undefined;
}

/** The batch source over a window of its event time (the whole table without one). */
export function sourceSample(deployment: Deployment, w: Window): Sample {
  const source = deployment.spec.batch?.source;
  if (!source)
    throw new DriftInputError('deployment', `${deployment.spec.name} has no batch source to profile`);
  if (source.event_time && (w.from === undefined || w.to === undefined))
    throw new DriftInputError(
      w.from === undefined ? 'from' : 'to',
      'is required (the source has an event time)',
    );
  if (w.from !== undefined && w.to !== undefined && !(w.from < w.to))
    throw new DriftInputError('to', 'must be after from');
  const t = source.event_time ? quote(source.event_time) : undefined;
  const { from, to } = w;
  return {
    from: quoteTable(source.table),
    where: (arg) =>
      t && from !== undefined && to !== undefined ? `${t} >= ${arg(from)} AND ${t} < ${arg(to)}` : 'TRUE',
  };
}

/** The sink's predictions by one version, of the runs whose partition starts inside the window. */
export function sinkSample(sink: SinkLayout, version: string, w: Required<Window>): Sample {
  const n = sink.names;
  return {
    from: `${quoteTable(sink.table)} s JOIN batch_runs r ON r.run_id = s.${quote(n.run_id)}`,
    where: (arg) =>
      `s.${quote(n.model_version)} = ${arg(version)} AND r.partition_from >= ${arg(w.from)}::timestamp
       AND r.partition_from < ${arg(w.to)}::timestamp`,
  };
}

export function sinkPrediction(sink: SinkLayout, model: LoadedModel): ProfiledColumn | undefined {
  const p = predictionOf(model);
  const column = sink.values[0]?.column;
  if (!p || !column) return undefined;
  const c = `s.${quote(column)}`;
  return { field: p.name, kind: p.kind, value: () => (p.kind === 'numeric' ? `${c}::float8` : `${c}::text`) };
}

/** Online or stream predictions of a version made inside the window (bounds are UTC). */
export function predictionsSample(
  mode: Exclude<MonitoredMode, 'batch'>,
  deployment: string,
  version: string,
  w: Required<Window>,
): Sample {
  const [table, time, filter] =
    mode === 'online'
      ? ['online_predictions', 'created_at', "AND p.role <> 'shadow' AND p.error IS NULL"]
      : ['stream_predictions', 'scored_at', ''];
  return {
    from: `${table} p`,
    where: (arg) =>
      `p.deployment = ${arg(deployment)} AND p.version = ${arg(version)} ${filter}
       AND p.${time} >= (${arg(w.from)}::timestamp AT TIME ZONE 'UTC') AND p.${time} < (${arg(w.to)}::timestamp AT TIME ZONE 'UTC')`,
  };
}

/** The prediction column of an online or stream row. */
export function recordedPrediction(
  mode: Exclude<MonitoredMode, 'batch'>,
  model: LoadedModel,
): ProfiledColumn | undefined {
  const p = predictionOf(model);
  if (!p) return undefined;
  const value =
    mode === 'online'
      ? p.kind === 'numeric'
        ? 'p.prediction'
        : "p.output ->> 'label'"
      : p.kind === 'numeric'
        ? "CASE WHEN jsonb_typeof(p.primary_value) = 'number' THEN (p.primary_value #>> '{}')::float8 END"
        : "p.primary_value #>> '{}'";
  return { field: p.name, kind: p.kind, value: () => value };
}

/** Versions with predictions of a deployment in a window of a mode (the champion and any canary). */
export function versionsSql(mode: Exclude<MonitoredMode, 'batch'>): string {
  return mode === 'online'
    ? `SELECT DISTINCT version FROM online_predictions WHERE deployment = $1 AND role <> 'shadow' AND error IS NULL
         AND created_at >= ($2::timestamp AT TIME ZONE 'UTC') AND created_at < ($3::timestamp AT TIME ZONE 'UTC')`
    : `SELECT DISTINCT version FROM stream_predictions WHERE deployment = $1
         AND scored_at >= ($2::timestamp AT TIME ZONE 'UTC') AND scored_at < ($3::timestamp AT TIME ZONE 'UTC')`;
}

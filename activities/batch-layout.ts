/**
 * A deployment's batch block held against its model's signature and its tables: which source column feeds which
 * signature field (and with which type), the page order, the label, and the sink's columns after the deployment's
 * renames. Every mismatch is reported at once, naming the deployment's side (field, mapping) and the table's
 * (column, type). The same function is the worker's DeploymentCheck and the activities' plan of a run.
 */
import type { Pool } from '../db/pool.js';
import type { PageReads } from '../db/queries/batch-copy.js';
import {
  describeTable,
  KEY_TYPES,
  READABLE_TYPES,
  SINK_NAMES,
  type ColumnInfo,
  type KeyType,
  type ReadableType,
  type SinkLayout,
  type SinkNames,
  type SinkValue,
  type SourceColumn,
  type SourceLayout,
  type TableInfo,
} from '../db/queries/batch-tables.js';
import type { Deployment } from '../platform/deployments.js';
import type { LoadedModel } from '../scoring/load-model.js';
import type { FieldSpec } from '../scoring/model-card.js';

export type BatchTask =
  | { kind: 'regression'; name: string }
  | { kind: 'classification'; probabilities?: string; classes: (string | number)[] };

export interface BatchLayout {
  deployment: string;
  source: SourceLayout;
  reads: PageReads;
  sink: SinkLayout;
  task: BatchTask;
  /** A label column is declared: the sink has `actual` (and `diff`) and the run reports metrics. */
  labelled: boolean;
  /** Sink tables that do not exist yet. */
  missing: string[];
  /**
   * The batch mode may create the missing sink tables (at worker start, or at a run's start when the source was
   * loaded later): only a sink with no renames. One mapped onto a table with its own names (batch.sink.columns)
   * is the user's table, never created: a run fails with MissingTable until it exists.
   */
  creatable: boolean;
}

export interface BatchTables {
  source: TableInfo | null;
  sink: TableInfo | null;
  rejected: TableInfo | null;
}

/** Which column types a signature field can read. */
const FIELD_READS: Record<FieldSpec['type'], readonly ReadableType[]> = {
  integer: ['int2', 'int4', 'int8', 'numeric'],
  number: ['int2', 'int4', 'int8', 'float4', 'float8', 'numeric'],
  string: ['text', 'varchar', 'bpchar'],
  boolean: ['bool'],
  timestamp: ['timestamp', 'timestamptz', 'date', 'text', 'varchar'],
};
const TEXT = ['text', 'varchar'];
const KEY_SQL: Record<KeyType, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  text: 'text',
  varchar: 'text',
  bpchar: 'text',
  uuid: 'uuid',
};
/** The binary COPY input of each sink value type, and the column types that accept it. */
const SINK_ACCEPTS: Record<SinkValue['sqlType'], readonly string[]> = {
  'double precision': ['float8'],
  text: TEXT,
  bigint: ['int8'],
  jsonb: ['jsonb'],
};

const isReadable = (t: string): t is ReadableType => (READABLE_TYPES as readonly string[]).includes(t);
const isKey = (t: string): t is KeyType => (KEY_TYPES as readonly string[]).includes(t);

/** `<deployment>_predictions` and `<sink>_rejected` unless the file names them. */
export function sinkTables(spec: Deployment['spec']): { table: string; rejected: string } {
  const table = spec.batch?.sink.table ?? `${spec.name.replace(/-/g, '_')}_predictions`;
  return { table, rejected: spec.batch?.sink.rejected_table ?? `${table}_rejected` };
}

function taskOf(model: LoadedModel): BatchTask | string {
  const t = model.task;
  if (t.kind === 'regression') return { kind: 'regression', name: t.name };
  if (t.kind === 'classification')
    return {
      kind: 'classification',
      classes: t.classes,
      ...(t.probabilities ? { probabilities: t.probabilities } : {}),
    };
  return `the batch mode scores regression and classification models; ${model.ref} declares task "outputs"`;
}

/** Plans the source side; pushes problems. */
function planSource(
  deployment: Deployment,
  model: LoadedModel,
  task: BatchTask,
  table: TableInfo,
  problems: string[],
): { source: SourceLayout; reads: PageReads } | undefined {
  const spec = deployment.spec.batch?.source;
  if (!spec) return undefined;
  const where = `table ${table.name}`;
  const listed = () => [...table.columns.keys()].join(', ');
  const column = (name: string, what: string): ColumnInfo | undefined => {
    const c = table.columns.get(name);
    if (!c) problems.push(`${what}: "${name}" is not a column of ${where} (columns: ${listed()})`);
    return c;
  };
  const key = column(spec.key, 'batch.source.key');
  if (key && !isKey(key.type))
    problems.push(
      `batch.source.key: column "${key.name}" of ${where} is ${key.formatted}; a key must be an integer, text or uuid column`,
    );
  let eventTime: SourceLayout['eventTime'];
  if (spec.event_time !== undefined) {
    const et = column(spec.event_time, 'batch.source.event_time');
    if (et && et.type !== 'timestamp' && et.type !== 'timestamptz')
      problems.push(
        `batch.source.event_time: column "${et.name}" of ${where} is ${et.formatted}, not a timestamp`,
      );
    else if (et) eventTime = { name: et.name, type: et.type as 'timestamp' | 'timestamptz' };
  }
  // COPY columns: 0 key, 1 event time (if any), then each other column once.
  const columns: SourceColumn[] = [];
  const indexOf = (c: ColumnInfo): number => {
    if (eventTime && c.name === eventTime.name) return 1;
    const offset = eventTime ? 2 : 1;
    let at = columns.findIndex((s) => s.name === c.name);
    if (at < 0) at = columns.push({ name: c.name, type: c.type as ReadableType }) - 1;
    return offset + at;
  };
  const fields: PageReads['fields'] = [];
  for (const f of model.card.signature.fields) {
    const name = spec.columns[f.name] ?? f.name.toLowerCase();
    const c = table.columns.get(name);
    if (!c) {
      // An optional field with no column is simply not read: the signature's default or null applies.
      if (f.nullable || f.default !== undefined) continue;
      problems.push(
        `batch.source.columns: field "${f.name}" of ${model.ref} reads column "${name}", which is not a column of ${where} (map it in batch.source.columns; columns: ${listed()})`,
      );
      continue;
    }
    if (!isReadable(c.type) || !FIELD_READS[f.type].includes(c.type)) {
      problems.push(
        `batch.source.columns: field "${f.name}" (${f.type}) of ${model.ref} cannot read column "${c.name}" of ${where}, which is ${c.formatted}`,
      );
      continue;
    }
    fields.push({ name: f.name, column: indexOf(c) });
  }
  let label: PageReads['label'];
  const prediction = task.kind === 'regression' ? task.name : 'label';
  for (const [name, columnName] of Object.entries(spec.labels)) {
    if (name !== prediction) {
      problems.push(
        `batch.source.labels: "${name}" is not a prediction of ${model.ref} (its ${task.kind} prediction is "${prediction}")`,
      );
      continue;
    }
    const c = column(columnName, `batch.source.labels.${name}`);
    if (!c) continue;
    const numericClasses = task.kind === 'classification' && task.classes.every((k) => typeof k === 'number');
    const accepted: readonly string[] =
      task.kind === 'regression'
        ? FIELD_READS.number
        : numericClasses
          ? FIELD_READS.integer
          : FIELD_READS.string;
    if (!accepted.includes(c.type))
      problems.push(
        `batch.source.labels.${name}: column "${c.name}" of ${where} is ${c.formatted}, but ${model.ref}'s ${prediction} is ${task.kind === 'regression' || numericClasses ? 'a number' : 'text'}`,
      );
    else label = { column: indexOf(c), numeric: task.kind === 'regression' };
  }
  if (!key || !isKey(key.type)) return undefined;
  return {
    source: {
      table: table.name,
      key: { name: key.name, type: key.type },
      ...(eventTime ? { eventTime } : {}),
      columns,
    },
    reads: { fields, ...(label ? { label } : {}) },
  };
}

/** The sink's columns by generic role, after the deployment's renames. */
function planSink(
  deployment: Deployment,
  task: BatchTask,
  key: SourceLayout['key'],
  labelled: boolean,
  problems: string[],
): SinkLayout {
  const renames = deployment.spec.batch?.sink.columns ?? {};
  const name = (role: string) => renames[role] ?? role;
  const values: SinkValue[] = [];
  const value = (role: string, sqlType: SinkValue['sqlType']) =>
    values.push({ role, column: name(role), sqlType });
  if (task.kind === 'regression') {
    value(task.name, 'double precision');
    if (labelled) {
      value('actual', 'double precision');
      value('diff', 'double precision');
    }
  } else {
    const labelType = task.classes.every((c) => typeof c === 'number') ? 'bigint' : 'text';
    value('label', labelType);
    if (task.probabilities) value('probabilities', 'jsonb');
    if (labelled) value('actual', labelType);
  }
  const names = Object.fromEntries(SINK_NAMES.map((n) => [n, name(n)])) as SinkNames;
  const known = [key.name, ...SINK_NAMES, ...values.map((v) => v.role)];
  for (const role of Object.keys(renames))
    if (!known.includes(role))
      problems.push(
        `batch.sink.columns: "${role}" is not a column the batch mode writes (it writes: ${known.join(', ')})`,
      );
  const tables = sinkTables(deployment.spec);
  return {
    table: tables.table,
    rejectedTable: tables.rejected,
    key: { column: name(key.name), type: key.type, sqlType: KEY_SQL[key.type] },
    names,
    values,
  };
}

/** An existing sink (or rejected) table against the columns the batch mode writes. */
function fitTable(
  table: TableInfo,
  expected: { column: string; role: string; accepts: readonly string[]; want: string }[],
  unique: string[],
  problems: string[],
): void {
  for (const e of expected) {
    const c = table.columns.get(e.column);
    if (!c)
      problems.push(
        `batch.sink: table ${table.name} has no column "${e.column}" for "${e.role}" (add it, or map "${e.role}" to one of its columns in batch.sink.columns)`,
      );
    else if (e.accepts.length > 0 && !e.accepts.includes(c.type))
      problems.push(
        `batch.sink: column "${c.name}" of ${table.name} ("${e.role}") is ${c.formatted}, expected ${e.want}`,
      );
  }
  const written = new Set(expected.map((e) => e.column));
  for (const c of table.columns.values())
    if (!written.has(c.name) && c.notNull && !c.hasDefault)
      problems.push(
        `batch.sink: column "${c.name}" of ${table.name} is NOT NULL without a default, and the batch mode does not write it`,
      );
  const same = (cols: string[]) => cols.length === unique.length && unique.every((u) => cols.includes(u));
  if (!table.uniques.some(same))
    problems.push(
      `batch.sink: table ${table.name} needs a primary key or unique index on (${unique.join(', ')}) for exactly-once writes`,
    );
}

function fitSinks(sink: SinkLayout, tables: BatchTables, problems: string[]): string[] {
  const n = sink.names;
  const key = {
    column: sink.key.column,
    role: 'key',
    accepts: [
      sink.key.type === 'varchar' || sink.key.type === 'bpchar' ? 'text' : sink.key.type,
      sink.key.type,
    ],
    want: `${sink.key.sqlType} (the source key's type)`,
  };
  const text = (role: keyof SinkNames) => ({ column: n[role], role, accepts: TEXT, want: 'text' });
  const stamp = (role: keyof SinkNames) => ({ column: n[role], role, accepts: [], want: 'timestamptz' });
  const unique = [sink.key.column, n.model_name, n.model_version];
  const missing: string[] = [];
  if (tables.sink)
    fitTable(
      tables.sink,
      [
        key,
        text('model_name'),
        text('model_version'),
        ...sink.values.map((v) => ({
          column: v.column,
          role: v.role,
          accepts: SINK_ACCEPTS[v.sqlType],
          want: v.sqlType,
        })),
        text('run_id'),
        stamp('scored_at'),
      ],
      unique,
      problems,
    );
  else missing.push(sink.table);
  if (tables.rejected)
    fitTable(
      tables.rejected,
      [
        key,
        text('model_name'),
        text('model_version'),
        text('run_id'),
        text('field'),
        text('reason'),
        stamp('rejected_at'),
      ],
      unique,
      problems,
    );
  else missing.push(sink.rejectedTable);
  return missing;
}

/** The layout of a deployment's batch block for `model`, or every problem found. */
export function planBatchLayout(
  deployment: Deployment,
  model: LoadedModel,
  tables: BatchTables,
): { ok: true; layout: BatchLayout } | { ok: false; problems: string[] } {
  const spec = deployment.spec.batch;
  if (!spec) return { ok: false, problems: [`deployment ${deployment.spec.name} has no batch block`] };
  const problems: string[] = [];
  const task = taskOf(model);
  if (typeof task === 'string') return { ok: false, problems: [`model: ${task}`] };
  if (!tables.source) return { ok: false, problems: [`batch.source.table: ${sourceMissing(deployment)}`] };
  const read = planSource(deployment, model, task, tables.source, problems);
  if (!read) return { ok: false, problems };
  const labelled = read.reads.label !== undefined;
  const sink = planSink(deployment, task, read.source.key, labelled, problems);
  const missing = fitSinks(sink, tables, problems);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    layout: {
      deployment: deployment.spec.name,
      source: read.source,
      reads: read.reads,
      sink,
      task,
      labelled,
      missing,
      creatable: Object.keys(spec.sink.columns).length === 0,
    },
  };
}

/** Why the batch mode of a deployment whose source table is absent waits, with the command that loads it. */
export function sourceMissing(deployment: Deployment): string {
  const source = deployment.spec.batch?.source;
  const table = source?.table ?? '';
  return `table ${table} does not exist yet (load it, e.g. npm run load -- file.csv --table ${table} --key ${source?.key ?? ''})`;
}

/** Describes the three tables of a deployment's batch block. */
export async function describeBatchTables(pool: Pool, deployment: Deployment): Promise<BatchTables> {
  const sinks = sinkTables(deployment.spec);
  const source = deployment.spec.batch?.source.table;
  return {
    source: source ? await describeTable(pool, source) : null,
    sink: await describeTable(pool, sinks.table),
    rejected: await describeTable(pool, sinks.rejected),
  };
}

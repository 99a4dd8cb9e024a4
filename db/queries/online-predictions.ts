/**
 * Writes of the online prediction log (api/prediction-log.ts): one COPY (text format) per batch of rows, which
 * costs the API about half the CPU of a multi-row INSERT with 16 parameters a row. Values are made storable first:
 * Postgres text cannot hold U+0000 and jsonb refuses a lone surrogate, so both become U+FFFD (a request body may
 * carry either in a field the model ignores, and one such row must not stop the log).
 */
import type { Role } from '../../contracts/routing.js';
import { copyText } from '../../data/copy.js';
import { copyEscape } from '../../data/table-types.js';
import type { Pool } from '../pool.js';

export interface PredictionRecord {
  requestId: string;
  rowIndex: number;
  route: string;
  model: string;
  version: string;
  features: Record<string, unknown>;
  /** The primary value when it is a number (a regression), else null. */
  prediction: number | null;
  /** The prediction as the API answered it (`{label, probabilities}` ...), when not just `prediction`. */
  output?: Record<string, unknown>;
  latencyMs: number;
  createdAt: Date;
  /** Rollouts: the deployment that routed the call and the role this row played (default champion). */
  deployment?: string;
  role?: Role;
  /** A canary or shadow call that failed (the row has no prediction). */
  error?: string;
  /** Shadow rows: the champion's answer to the same record, and the distance between the two. */
  championOutput?: Record<string, unknown>;
  diff?: number | null;
  /** The key late labels join on (api/routing.ts recordKeyOf). */
  recordKey?: string;
}

export const PREDICTION_COLUMNS = [
  'request_id',
  'row_index',
  'route',
  'model',
  'version',
  'features',
  'prediction',
  'output',
  'latency_ms',
  'created_at',
  'deployment',
  'role',
  'error',
  'champion_output',
  'diff',
  'record_key',
] as const;

const NULL = '\\N';
const REPLACEMENT = '\uFFFD';

/** Text as a COPY field: NUL replaced, COPY's special characters escaped. */
function text(value: string | null | undefined): string {
  if (value === null || value === undefined) return NULL;
  return copyEscape(value.includes('\0') ? value.replaceAll('\0', REPLACEMENT) : value);
}

// `\u0000` and escaped surrogates (JSON.stringify escapes only lone ones) not preceded by an escaping backslash.
const UNSTORABLE_ESCAPE = /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/** A JSON value as a jsonb COPY field. */
export function jsonField(value: unknown): string {
  if (value === undefined) return NULL;
  const json = JSON.stringify(value);
  return copyEscape(json.includes('\\u') ? json.replace(UNSTORABLE_ESCAPE, '\\ufffd') : json);
}

function number(value: number | null | undefined): string {
  return value === null || value === undefined ? NULL : String(value);
}

/** One row as a line of COPY text, in PREDICTION_COLUMNS order. */
export function predictionLine(r: PredictionRecord): string {
  return `${text(r.requestId)}\t${r.rowIndex}\t${text(r.route)}\t${text(r.model)}\t${text(r.version)}\t${jsonField(
    r.features,
  )}\t${number(r.prediction)}\t${jsonField(r.output)}\t${number(r.latencyMs)}\t${r.createdAt.toISOString()}\t${text(
    r.deployment,
  )}\t${text(r.role ?? 'champion')}\t${text(r.error)}\t${jsonField(r.championOutput)}\t${number(r.diff)}\t${text(
    r.recordKey,
  )}\n`;
}

/** Writes `rows` in one COPY: all of them or, when it fails, none. */
export async function copyPredictions(pool: Pool, rows: readonly PredictionRecord[]): Promise<void> {
  let body = '';
  for (const r of rows) body += predictionLine(r);
  const client = await pool.connect();
  try {
    await copyText(client, 'online_predictions', PREDICTION_COLUMNS, [body]);
    client.release();
  } catch (err) {
    // A refused value leaves the connection usable; anything else may not: that client is discarded.
    client.release(isDataError(err) ? undefined : (err as Error));
    throw err;
  }
}

/** Postgres refused the values themselves (SQLSTATE class 22 or 23): writing the same rows again fails again. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

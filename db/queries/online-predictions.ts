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
// What COPY text treats specially (backslash, tab, newline, carriage return) and NUL, which text cannot hold.
const SPECIAL = /[\\\t\n\r\0]/;

/** Text as a COPY field: NUL replaced, COPY's special characters escaped. */
function text(value: string | null | undefined): string {
  if (value === null || value === undefined) return NULL;
  if (!SPECIAL.test(value)) return value;
  return copyEscape(value.includes('\0') ? value.replaceAll('\0', REPLACEMENT) : value);
}

/**
 * The fields that take few values (route, model, version, deployment, role) as COPY text, escaped once: a row's
 * encoding is on the API's main thread, so what repeats on every row is not worked out again.
 */
const repeated = new Map<string, string>();
function label(value: string | undefined): string {
  if (value === undefined) return NULL;
  let field = repeated.get(value);
  if (field === undefined) {
    field = text(value);
    if (repeated.size >= 1024) repeated.clear();
    repeated.set(value, field);
  }
  return field;
}

// `\u0000` and escaped surrogates (JSON.stringify escapes only lone ones) not preceded by an escaping backslash.
const UNSTORABLE_ESCAPE = /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/**
 * A JSON value as a jsonb COPY field. JSON.stringify writes every control character as an escape, so of COPY's
 * special characters only the backslashes of those escapes can occur, and they are doubled.
 */
export function jsonField(value: unknown): string {
  if (value === undefined) return NULL;
  const json = JSON.stringify(value);
  if (!json.includes('\\')) return json;
  return (json.includes('\\u') ? json.replace(UNSTORABLE_ESCAPE, '\\ufffd') : json).replaceAll('\\', '\\\\');
}

function number(value: number | null | undefined): string {
  return value === null || value === undefined ? NULL : String(value);
}

// Rows made in the same millisecond (a call's rows, a busy second's calls) share the text of their time.
let lastTime = NaN;
let lastTimeText = '';
function time(at: Date): string {
  const ms = at.getTime();
  if (ms !== lastTime) {
    lastTime = ms;
    lastTimeText = at.toISOString();
  }
  return lastTimeText;
}

/** One row as a line of COPY text, in PREDICTION_COLUMNS order. */
export function predictionLine(r: PredictionRecord): string {
  return `${text(r.requestId)}\t${r.rowIndex}\t${label(r.route)}\t${label(r.model)}\t${label(r.version)}\t${jsonField(
    r.features,
  )}\t${number(r.prediction)}\t${jsonField(r.output)}\t${number(r.latencyMs)}\t${time(r.createdAt)}\t${label(
    r.deployment,
  )}\t${label(r.role ?? 'champion')}\t${text(r.error)}\t${jsonField(r.championOutput)}\t${number(r.diff)}\t${text(
    r.recordKey,
  )}\n`;
}

/** The request id at the head of a row's line (for messages; COPY escapes left as they are). */
export function requestIdOf(line: string): string {
  const tab = line.indexOf('\t');
  return tab < 0 ? line : line.slice(0, tab);
}

/** Writes rows encoded by predictionLine in one COPY: all of them or, when it fails, none. */
export async function copyPredictions(pool: Pool, lines: readonly string[]): Promise<void> {
  const body = lines.join('');
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

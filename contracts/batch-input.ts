/**
 * Pure, sandbox-safe rules of a batch run's input: validation, the naive-timestamp form of `from`/`to`, the
 * partition a scheduled run scores, and the split of a range into day partitions. Shared by the workflow and
 * the control functions (which validate the same way before starting a run).
 *
 * An event-time column is compared by its wall-clock parts (a naive `timestamp` holds local time as recorded),
 * so an ISO bound's offset is ignored: `2021-02-01T00:00:00Z`, `2021-02-01T00:00:00-05:00` and `2021-02-01` all
 * mean the naive `2021-02-01T00:00:00`.
 */
import type { BatchScoringInput } from './batch.js';

export interface Partition {
  /** Naive `YYYY-MM-DDTHH:MM:SS[.ffffff]`, inclusive. */
  from: string;
  /** Naive, exclusive. */
  to: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; field: string; reason: string };

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;
export const MAX_CHUNK_SIZE = 1_000_000;
const DAY_MS = 86_400_000;

/** The naive wall-clock form of an ISO date or timestamp, or null when it is not one (or not a real date). */
export function toNaiveTimestamp(value: string): string | null {
  const m = ISO.exec(value);
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const back = new Date(ms).toISOString();
  if (back.slice(0, 19) !== `${y}-${mo}-${d}T${h}:${mi}:${s}`) return null; // 2021-02-30, 25:00 ...
  const micro = frac ? frac.slice(0, 6).replace(/0+$/, '') : '';
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${micro ? `.${micro}` : ''}`;
}

/** A naive timestamp `days` later (calendar arithmetic on the wall clock; no DST in naive time). */
export function addDays(naive: string, days: number): string {
  const ms = Date.parse(`${naive.slice(0, 19)}Z`) + days * DAY_MS;
  return `${new Date(ms).toISOString().slice(0, 19)}${naive.slice(19)}`;
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Checks every field; the failure names the first bad one, e.g. `from: must be an ISO timestamp`. */
export function checkBatchInput(input: BatchScoringInput): Checked<Partition | null> {
  const raw = input as Record<string, unknown>;
  if (typeof input !== 'object' || input === null)
    return { ok: false, field: 'input', reason: 'must be an object' };
  const bounds: Record<'from' | 'to', string | undefined> = { from: undefined, to: undefined };
  for (const field of ['from', 'to'] as const) {
    const v = raw[field];
    if (v === undefined || v === null) continue;
    const naive = typeof v === 'string' ? toNaiveTimestamp(v) : null;
    if (naive === null)
      return {
        ok: false,
        field,
        reason: `must be an ISO timestamp, e.g. 2021-02-01T00:00:00 (got ${JSON.stringify(v)})`,
      };
    bounds[field] = naive;
  }
  if ((bounds.from === undefined) !== (bounds.to === undefined)) {
    const missing = bounds.from === undefined ? 'from' : 'to';
    return { ok: false, field: missing, reason: 'is required when the other bound is given' };
  }
  if (bounds.from !== undefined && bounds.to !== undefined && bounds.from >= bounds.to)
    return { ok: false, field: 'to', reason: `must be after from (${bounds.from} >= ${bounds.to})` };
  if (raw.model !== undefined && (typeof raw.model !== 'string' || raw.model.trim() === ''))
    return { ok: false, field: 'model', reason: 'must be a model reference such as my-model@production' };
  // Only the shape here (the sandbox has no registry); the resolve step names the deployments that exist.
  if (
    raw.deployment !== undefined &&
    (typeof raw.deployment !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(raw.deployment))
  )
    return {
      ok: false,
      field: 'deployment',
      reason: `must be a deployment name: lower-case letters, digits or "-" (got ${JSON.stringify(raw.deployment)})`,
    };
  if (raw.chunkSize !== undefined && !(isPositiveInt(raw.chunkSize) && raw.chunkSize <= MAX_CHUNK_SIZE))
    return { ok: false, field: 'chunkSize', reason: `must be a whole number from 1 to ${MAX_CHUNK_SIZE}` };
  for (const field of ['maxParallelChunks', 'maxChunksPerRun', 'batchRows'] as const)
    if (raw[field] !== undefined && !isPositiveInt(raw[field]))
      return { ok: false, field, reason: 'must be a whole number > 0' };
  if (raw.notify !== undefined && typeof raw.notify !== 'boolean')
    return { ok: false, field: 'notify', reason: 'must be true or false' };
  if (raw.timeZone !== undefined && !isTimeZone(raw.timeZone))
    return {
      ok: false,
      field: 'timeZone',
      reason: `must be an IANA time zone (got ${JSON.stringify(raw.timeZone)})`,
    };
  const partition =
    bounds.from !== undefined && bounds.to !== undefined ? { from: bounds.from, to: bounds.to } : null;
  return { ok: true, value: partition };
}

function isTimeZone(v: unknown): v is string {
  if (typeof v !== 'string' || v === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return true;
  } catch {
    return false;
  }
}

/** The calendar date (`YYYY-MM-DD`) of an instant in a time zone. */
export function dateInZone(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The partition a scheduled run scores: the whole day before its scheduled time, in the schedule's zone. */
export function scheduledPartition(scheduledAt: Date, timeZone: string): Partition {
  const to = `${dateInZone(scheduledAt, timeZone)}T00:00:00`;
  return { from: addDays(to, -1), to };
}

/** Splits a range at midnights; a range inside one calendar day (or exactly one day) is one partition. */
export function splitDays(p: Partition): Partition[] {
  const days: Partition[] = [];
  let from = p.from;
  while (from < p.to) {
    const midnight = addDays(`${from.slice(0, 10)}T00:00:00`, 1);
    const to = midnight < p.to ? midnight : p.to;
    days.push({ from, to });
    from = to;
  }
  return days;
}

/** The partition of a source without event time: the whole table (valid Postgres timestamp bounds). */
export const WHOLE_TABLE: Partition = { from: '-infinity', to: 'infinity' };

/** `2021-02-01` for exactly one day, `all` for the whole table, else `from..to`. */
export function partitionKey(p: Partition): string {
  if (p.from === WHOLE_TABLE.from && p.to === WHOLE_TABLE.to) return 'all';
  const day = p.from.slice(0, 10);
  if (p.from === `${day}T00:00:00` && p.to === addDays(p.from, 1)) return day;
  return `${p.from}..${p.to}`;
}

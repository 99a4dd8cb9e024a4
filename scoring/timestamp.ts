/**
 * Timestamps of a signature: ISO text read into the local calendar fields of a declared IANA time zone. Naive text
 * (`YYYY-MM-DDTHH:MM:SS[.fff]`, no offset) is already local time there and is read from the text itself, never
 * shifted through the host's time zone. Text with `Z` or `±HH:MM` is an instant and is converted to that time zone.
 */

export interface LocalTime {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export const TIMESTAMP_FORMAT = 'YYYY-MM-DDTHH:MM:SS';
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/;

// Intl construction is slow: one formatter per time zone, built on first use.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** 0 = Monday ... 6 = Sunday. */
export function dayOfWeek(year: number, month: number, day: number): number {
  return (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
}

/** 1 = January 1st. */
export function dayOfYear(year: number, month: number, day: number): number {
  return Math.round((Date.UTC(year, month - 1, day) - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The local fields of an instant in `timeZone`. */
export function localTimeOf(instant: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const { year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0 } = parts;
  return { year, month, day, hour, minute, second };
}

/** Reads a timestamp into local fields in `timeZone`, or returns the reason it is not one. */
export function parseTimestamp(text: string, timeZone: string): LocalTime | string {
  const m = PATTERN.exec(text);
  if (!m) return `must be a timestamp ${TIMESTAMP_FORMAT} (optionally .fff, Z or ±HH:MM)`;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    return 'is not a valid calendar date';
  if (hour > 23 || minute > 59 || second > 59) return 'is not a valid time of day';
  const offset = m[7];
  const utc = offset === 'Z' || offset === '+00:00' || offset === '+0000';
  if (offset === undefined || (utc && timeZone === 'UTC')) return { year, month, day, hour, minute, second };
  if (!utc && (Number(offset.slice(1, 3)) > 14 || Number(offset.slice(-2)) > 59))
    return 'has an invalid UTC offset';
  const sign = offset.startsWith('-') ? 1 : -1;
  const offsetMinutes = utc ? 0 : Number(offset.slice(1, 3)) * 60 + Number(offset.slice(-2));
  const instant = Date.UTC(year, month - 1, day, hour, minute, second) + sign * offsetMinutes * 60_000;
  return localTimeOf(instant, timeZone);
}

/**
 * Parses `pickup_datetime` into the local New York calendar fields the models use. A naive timestamp
 * (`YYYY-MM-DDTHH:MM:SS[.fff]`, as in the TLC files) is taken as New York local time, read from the text itself and
 * never shifted through the host time zone. A string with `Z` or a `±HH:MM` offset is an instant: it is converted to
 * America/New_York local time first.
 */

export interface LocalPickup {
  /** HH + MM/60 (seconds ignored), float64. */
  hour: number;
  /** 0 = Monday ... 6 = Sunday. */
  dow: number;
}

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/;

// One shared, immutable formatter: Intl construction is slow, formatting is only needed for offset strings.
const newYork = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
});

export function dayOfWeek(year: number, month: number, day: number): number {
  return (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Returns the local pickup fields, or a reason string when the text is not a valid timestamp. */
export function parsePickup(text: string): LocalPickup | string {
  const m = PATTERN.exec(text);
  if (!m) return 'must be a timestamp YYYY-MM-DDTHH:MM:SS (optionally .fff, Z or ±HH:MM)';
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    return 'is not a valid calendar date';
  if (hour > 23 || minute > 59 || second > 59) return 'is not a valid time of day';
  const zone = m[7];
  if (zone === undefined) return { hour: hour + minute / 60, dow: dayOfWeek(year, month, day) };
  return toNewYork(text, zone);
}

function toNewYork(text: string, zone: string): LocalPickup | string {
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 14 || Number(zone.slice(-2)) > 59))
    return 'has an invalid UTC offset';
  const instant = Date.parse(
    zone === 'Z' || zone.includes(':') ? text : `${text.slice(0, -2)}:${text.slice(-2)}`,
  );
  if (Number.isNaN(instant)) return 'is not a valid timestamp';
  const parts: Record<string, number> = {};
  for (const p of newYork.formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const { year = 0, month = 0, day = 0, hour = 0, minute = 0 } = parts;
  return { hour: hour + minute / 60, dow: dayOfWeek(year, month, day) };
}

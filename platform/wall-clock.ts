/**
 * Naive wall-clock times in an IANA zone (the form of the TLC timestamps: `YYYY-MM-DDTHH:MM:SS`, no offset) and
 * back to instants. DST comes from the runtime's tz database; formatters are built once per zone.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock time of `instant` in `timeZone`, e.g. `2021-02-01T08:15:00`. */
export function wallClock(instant: Date, timeZone: string): string {
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

/** The instant at which the wall clock in `timeZone` shows `naive` (two passes settle DST offsets). */
export function zonedToUtc(naive: string, timeZone: string): Date {
  const asUtc = Date.parse(`${naive.slice(0, 19)}Z`);
  let guess = asUtc;
  for (let i = 0; i < 2; i++) guess += asUtc - Date.parse(`${wallClock(new Date(guess), timeZone)}Z`);
  return new Date(guess);
}

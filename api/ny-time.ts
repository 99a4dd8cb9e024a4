/** The current time as a naive America/New_York timestamp, the form the TLC data and the models use. */
const formatter = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** `YYYY-MM-DDTHH:MM:SS` in New York local time (DST handled by the tz database), e.g. for a missing pickup time. */
export function newYorkNow(now = new Date()): string {
  const p: Record<string, string> = {};
  for (const part of formatter.formatToParts(now)) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

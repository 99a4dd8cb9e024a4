/**
 * The platform rule: the core knows a model only through its card and a deployment only through its file. No code
 * or comment in the core folders names the first example's domain (rides, trips, zones, durations, TLC columns);
 * that knowledge lives in models/, deployments/, adapters/, data/ (the TLC ingest), training and docs.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CORE = ['workflows', 'activities', 'scoring', 'db/queries', 'api'];
/** Words of the ride-duration domain; matched case-insensitively inside identifiers too (rideId, PULocationID). */
const WORDS =
  /(?<!over)ride|(?<!s)trip|(?<!time[ _-]?)zone(?!d)|(?<!request_)duration|pickup|dropoff|PULocation|DOLocation|fare|tlc|lpep|taxi|borough/i;

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) files.push(...(await sources(rel)));
    // Tests exercise the examples (the ride models are fixtures there); the rule is about the code they test.
    else if (/\.(ts|js|mjs|sql)$/.test(e.name) && !e.name.endsWith('.test.ts')) files.push(rel);
  }
  return files;
}

describe('the core names no model', () => {
  it('finds none of the ride words in workflows/, activities/, scoring/, db/queries/ or api/', async () => {
    const hits: string[] = [];
    for (const dir of CORE)
      for (const file of await sources(dir)) {
        const lines = (await readFile(path.join(ROOT, file), 'utf8')).split('\n');
        lines.forEach((line, i) => {
          const m = WORDS.exec(line);
          if (m) hits.push(`${file}:${i + 1}: "${m[0]}" in ${line.trim().slice(0, 100)}`);
        });
      }
    expect(hits, hits.slice(0, 40).join('\n')).toEqual([]);
  });

  it('would catch one: the pattern matches the words it is meant to find', () => {
    for (const word of ['rideId', 'ride_duration', 'PULocationID', 'pickup_datetime', 'trip', 'zones', 'TLC'])
      expect(WORDS.test(word), word).toBe(true);
    for (const word of [
      'timeZone',
      'time zone',
      'time_zone',
      'stripZipMap',
      'http_request_duration_seconds',
      'overrides',
    ])
      expect(WORDS.test(word), word).toBe(false);
  });
});

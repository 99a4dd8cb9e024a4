/** `npm run stream`: the file readers, and the real CLI process replaying rides into a stream on real servers. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainStream, getStreamState } from '../control/streams.js';
import { uniqueId } from '../test/helpers.js';
import {
  makeEvents,
  persistedEventIds,
  startStreamKit,
  waitForState,
  type StreamKit,
} from '../test/stream-kit.js';
import { lineToEvent, naiveMicrosToText, readEventBatches } from './stream-file.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('./stream.ts', import.meta.url));
const SHARED_PARQUET = fileURLToPath(
  new URL('../../shared/data/green_tripdata_2021-02.parquet', import.meta.url),
);

describe('stream file readers', () => {
  it('formats naive TLC microseconds without shifting them', () => {
    expect(naiveMicrosToText(Date.UTC(2021, 1, 2, 9, 0, 30) * 1000)).toBe('2021-02-02T09:00:30');
  });

  it('takes a JSON line as an event, or wraps a flat ride row', () => {
    const event = { ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 256 };
    expect(lineToEvent(event, 0)).toEqual(event);
    expect(
      lineToEvent({ PULocationID: 1, DOLocationID: 2, trip_distance: 1, ride_id: 'x', event_id: 'e' }, 4),
    ).toEqual({
      ride: { PULocationID: 1, DOLocationID: 2, trip_distance: 1 },
      ride_id: 'x',
      event_id: 'e',
    });
    expect(lineToEvent({ PULocationID: 1 }, 4)).toEqual({ ride: { PULocationID: 1 }, ride_id: 4 });
  });

  it.skipIf(!existsSync(SHARED_PARQUET))(
    'reads real rides from a TLC parquet file (needs ../shared/data)',
    async () => {
      const batches = [];
      for await (const b of readEventBatches(SHARED_PARQUET, { batchSize: 40, limit: 100 })) batches.push(b);
      expect(batches.map((b) => b.length)).toEqual([40, 40, 20]);
      expect(batches[0]?.[0]?.ride_id).toBe('2021/02_0');
      expect(String(batches[0]?.[0]?.ride.pickup_datetime)).toMatch(/^202\d-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    },
  );
});

describe('npm run stream -- send (real process)', () => {
  let kit: StreamKit;
  let dir: string;
  beforeAll(async () => {
    kit = await startStreamKit();
    dir = await mkdtemp(path.join(os.tmpdir(), 'stream-cli-'));
  });
  afterAll(async () => {
    await kit?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: kit.temporal.address,
        TEMPORAL_TASK_QUEUE: kit.config.temporal.taskQueue,
        DATABASE_URL: kit.db.url,
        LOG_LEVEL: 'warn',
      },
    });

  it('replays a JSON-lines file at a fixed rate and the events are scored in order', async () => {
    const id = uniqueId('cli-jsonl');
    const file = path.join(dir, 'events.jsonl');
    await writeFile(
      file,
      makeEvents(50)
        .map((e) => JSON.stringify(e))
        .join('\n') + '\n',
    );
    // How closely --rate keeps its pace is measured by bench/timing.ts (wall-clock time is not a test).
    const { stdout } = await cli(['send', '--stream', id, '--file', file, '--rate', '100', '--limit', '30']);
    expect(JSON.parse(stdout)).toMatchObject({ stream: id, accepted: 30, duplicates: 0, rejected: 0 });
    await waitForState(
      () => getStreamState(kit.temporal.client, id),
      (s) => s.processed === 30,
    );
    const ids = await persistedEventIds(kit.db.pool, id);
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    const state = await cli(['state', '--stream', id]);
    expect(JSON.parse(state.stdout)).toMatchObject({ streamId: id, processed: 30, model: 'ride-duration@2' });
    await drainStream(kit.temporal.client, id);
  });

  it.skipIf(!existsSync(SHARED_PARQUET))(
    'replays real rides from parquet (needs ../shared/data)',
    async () => {
      const id = uniqueId('cli-parquet');
      const { stdout } = await cli(['send', '--stream', id, '--file', SHARED_PARQUET, '--limit', '300']);
      expect(JSON.parse(stdout)).toMatchObject({ accepted: 300, rejected: 0 });
      const s = await waitForState(
        () => getStreamState(kit.temporal.client, id),
        (x) => x.processed + x.failed === 300,
      );
      expect(s.processed).toBeGreaterThan(250);
      const { rows } = await kit.db.pool.query<{ ride_id: string }>(
        'SELECT ride_id FROM stream_predictions WHERE stream_id = $1 ORDER BY id LIMIT 1',
        [id],
      );
      expect(rows[0]?.ride_id).toBe('2021/02_0');
      await drainStream(kit.temporal.client, id);
    },
  );

  it('prints usage and exits 2 without a command', async () => {
    const failure: unknown = await cli(['send']).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('Usage:');
  });
});

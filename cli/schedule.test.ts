/** `npm run schedule` commands against the real Temporal dev server (own schedule id per test). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { connectTestTemporal, uniqueId, type TestTemporal } from '../test/helpers.js';
import { runScheduleCli, SCHEDULE_USAGE } from './schedule.js';

describe('npm run schedule', () => {
  let temporal: TestTemporal;
  const id = uniqueId('cli-daily');
  const config = loadConfig({ NODE_ENV: 'test', TEMPORAL_TASK_QUEUE: uniqueId('tq') });
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runScheduleCli(argv, temporal.client, config, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    temporal = await connectTestTemporal();
  });
  afterAll(async () => {
    await temporal.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
    await temporal?.close();
  });

  it('ensures, describes, pauses with a note, and keeps the pause on ensure', async () => {
    expect(await run('ensure', '--id', id)).toMatchObject({ code: 0, out: `${id}: created` });
    const described = await run('describe', '--id', id);
    expect(described.code).toBe(0);
    expect(JSON.parse(described.out)).toMatchObject({ scheduleId: id, policies: { overlap: 'BUFFER_ONE' } });
    expect(await run('pause', '--id', id, '--note', 'maintenance')).toMatchObject({
      code: 0,
      out: `${id}: paused`,
    });
    expect(await run('ensure', '--id', id)).toMatchObject({ code: 0, out: `${id}: updated` });
    const after = JSON.parse((await run('describe', '--id', id)).out) as { state: unknown };
    expect(after.state).toMatchObject({ paused: true, note: 'maintenance' });
  });

  it('explains bad usage with exit code 2', async () => {
    expect(await run('backfill', '--id', id, '--from', '2021-02-01')).toMatchObject({
      code: 2,
      err: 'backfill needs --from and --to (dates, to exclusive)',
    });
    expect(await run('nonsense')).toMatchObject({ code: 2, err: SCHEDULE_USAGE });
  });
});

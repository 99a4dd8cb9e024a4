/**
 * A challenger that is slow to score (version 4: about a second of CPU per run, test/rollouts/constant-model.ts)
 * does not slow the champion's answers. Its calls score in the API's scoring thread (CHALLENGER_THREAD=on, as the
 * fixture runs the API), so while a run holds that thread the main thread keeps answering. ONNX Runtime's Node
 * binding runs a session on the thread that calls it, so on the main thread the same run would hold every answer
 * behind it: with the fixture's thread removed, the first answer after the run began came only once a shadow row
 * had been recorded, and this test failed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutingState } from '../../contracts/routing.js';
import { uniqueId, waitFor } from '../helpers.js';
import { RIDE, startRolloutFixture, type RolloutFixture } from './fixture.js';

let f: RolloutFixture;
beforeAll(async () => {
  f = await startRolloutFixture({ slow: { size: 800, steps: 80 } });
});
afterAll(() => f?.close());

const D = '/deployments/ride-duration';
const SLOW = 'ride-duration@4';
const route = async (body: unknown): Promise<RoutingState> => {
  const res = await f.send('POST', `${D}/routing`, body);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as RoutingState;
};
const predict = (requestId: string) => f.send('POST', '/predict', RIDE, { 'x-request-id': requestId });
/** Challenger rows the prediction log took (the fixture logs challenger calls only): shadow calls that ended. */
const recorded = () => f.log.pending() + f.log.written() + f.log.dropped();

describe('a slow challenger', () => {
  it('in shadow: the champion answers one call after another while the challenger’s run holds its thread', async () => {
    await route({ challenger: '4', shadow: 100, reason: 'slow shadow' });
    const before = recorded();
    const prefix = uniqueId('slow');

    const first = await predict(`${prefix}-0`);
    expect(first.status).toBe(200);
    // Its shadow call has left the hold: the thread is in the slow run from now on.
    await waitFor(() => (f.threadCalls.get(SLOW) ?? 0) >= 1, {
      timeoutMs: 10_000,
      what: 'the first shadow call to reach the scoring thread',
    });
    const endedAtEachAnswer: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const res = await predict(`${prefix}-${i}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { model_version: string }).model_version).toBe('2');
      endedAtEachAnswer.push(recorded() - before);
    }
    // Twenty answers, each while no shadow call had ended: none of them waited for the challenger.
    expect(endedAtEachAnswer).toEqual(Array.from({ length: 20 }, () => 0));
    expect(f.threadAnswered.get(SLOW) ?? 0).toBe(0);

    // The challenger still scores every call, in its own time.
    await waitFor(() => recorded() - before === 21, {
      timeoutMs: 60_000,
      what: 'the 21 shadow calls to be scored',
      intervalMs: 50,
    });
    await f.log.flush();
    const { rows } = await f.db.pool.query<{ version: string; role: string; prediction: number }>(
      'SELECT version, role, prediction FROM online_predictions WHERE request_id LIKE $1',
      [`${prefix}-%`],
    );
    expect(rows).toHaveLength(21);
    for (const r of rows) expect(r).toMatchObject({ version: '4', role: 'shadow', prediction: 30 });
    await route({ challenger: null, reason: 'done' });
  });
});

import { executionAsyncId } from 'node:async_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTestTemporal, type TestTemporal } from '../test/helpers.js';

const DEADLINE_EXCEEDED = 4; // gRPC status code

/** The async id seen after an await: 0 unless something (an AsyncLocalStorage in use) tracks promises. */
async function idAfterAwait(): Promise<number> {
  await Promise.resolve();
  return executionAsyncId();
}

describe('connectClient (through connectTestTemporal) on a real Temporal server', () => {
  let temporal: TestTemporal | undefined;
  afterAll(() => temporal?.close());

  it('leaves promise tracking off after connecting, and deadlines still apply to later calls', async () => {
    // The premise: nothing in this test process tracks promises before the client connects.
    expect(await idAfterAwait()).toBe(0);
    temporal = await connectTestTemporal();
    const connected = temporal.client;
    expect(await idAfterAwait()).toBe(0);

    const found = await connected.workflowService.describeNamespace({ namespace: 'default' });
    expect(found.namespaceInfo?.name).toBe('default');
    // The call context the storage carries still works when asked for: an expired deadline fails the call.
    const late = connected.withDeadline(Date.now() - 1, () =>
      connected.workflowService.describeNamespace({ namespace: 'default' }),
    );
    await expect(late).rejects.toMatchObject({ code: DEADLINE_EXCEEDED });
  });
});

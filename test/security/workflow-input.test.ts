/**
 * Workflows started with malformed input fail fast, as non-retryable failures that name the field, both through
 * the SDK client and through `temporal workflow start` with the real CLI binary.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, inject, it } from 'vitest';
import { BATCH_WORKFLOW } from '../../contracts/batch.js';
import { STREAM_WORKFLOW } from '../../contracts/stream.js';
import { uniqueId, useWorkerEnvironment } from '../helpers.js';

const run = promisify(execFile);

describe('malformed workflow input', () => {
  const t = useWorkerEnvironment();

  /** Starts a workflow with the real CLI and returns the failure its result carries. */
  async function startWithCli(type: string, input: string): Promise<ApplicationFailure> {
    const workflowId = uniqueId('bad-input');
    await run(inject('temporalBinary'), [
      'workflow',
      'start',
      '--address',
      inject('temporalAddress'),
      '--task-queue',
      t.worker.taskQueue,
      '--type',
      type,
      '--workflow-id',
      workflowId,
      '--input',
      input,
    ]);
    const error = await t.temporal.client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    const history = await t.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    expect(history.events?.length ?? 0, 'failed on the first workflow task, with no retries').toBeLessThan(
      12,
    );
    return cause as ApplicationFailure;
  }

  it('batchScoring: a bad timestamp fails non-retryably naming `from`', async () => {
    const failure = await startWithCli(BATCH_WORKFLOW, '{"from": "yesterday", "to": "2024-01-02T00:00:00"}');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/\bfrom\b/);
  });

  it('batchScoring: a reversed range fails non-retryably naming the bounds', async () => {
    const failure = await startWithCli(
      BATCH_WORKFLOW,
      '{"from": "2024-01-02T00:00:00", "to": "2024-01-01T00:00:00"}',
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/\bto\b|\bfrom\b/);
  });

  it('batchScoring: a wrong-typed chunk size fails non-retryably naming it', async () => {
    const failure = await startWithCli(
      BATCH_WORKFLOW,
      '{"from": "2024-01-01T00:00:00", "to": "2024-01-02T00:00:00", "chunkSize": "lots"}',
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/chunkSize/);
  });

  it('streamScoring: a missing stream id fails non-retryably naming it', async () => {
    const failure = await startWithCli(STREAM_WORKFLOW, '{"model": "ride-duration@production"}');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/streamId/);
  });

  it('streamScoring: an out-of-range rollover grace fails non-retryably naming it', async () => {
    const failure = await startWithCli(
      STREAM_WORKFLOW,
      '{"streamId": "s1", "options": {"rolloverGraceMs": -5}}',
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/options\.rolloverGraceMs: must be a whole number of ms from 0 to 10000/);
  });
});

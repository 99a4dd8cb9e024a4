/**
 * What a retraining schedule starts. Temporal appends the scheduled time to the id of a workflow a Schedule starts,
 * so a schedule cannot start the retraining under its one-at-a-time id (`<task queue>/retrain-<deployment>`) itself:
 * this workflow does, as a child that outlives it. A retraining that is running already (started by the API or an
 * alert) answers this schedule run too: it starts none, and says so in its result.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { retrainingWorkflowId, type RetrainingInput } from '../contracts/retraining.js';
import { retraining } from './retraining.js';

export interface ScheduledRetrainingResult {
  started: boolean;
  /** The retraining's workflow id, and the run this schedule run started (absent when one was running). */
  workflowId: string;
  runId?: string;
  note: string;
}

export async function scheduledRetraining(input: RetrainingInput): Promise<ScheduledRetrainingResult> {
  const workflowId = retrainingWorkflowId(workflowInfo().taskQueue, input.deployment);
  try {
    const child = await startChild(retraining, {
      workflowId,
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return { started: true, workflowId, runId: child.firstExecutionRunId, note: 'retraining started' };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return {
      started: false,
      workflowId,
      note: `a retraining of ${input.deployment} is running already: this schedule run started none`,
    };
  }
}

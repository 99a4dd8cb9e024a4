import {
  allHandlersFinished,
  condition,
  defineSignal,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  drainSignal,
  labelsSignal,
  pauseSignal,
  replayDeadLetterUpdate,
  resumeSignal,
  setModelUpdate,
  stateQuery,
  STREAM_OPTION_DEFAULTS,
  type StreamOptions,
  type StreamScoringInput,
  type StreamState,
} from '../contracts/stream.js';
import { control } from './stream-activities.js';
import { announce, handOver } from './stream-handover.js';
import { assertStreamInput } from './stream-input.js';
import { eventSignalNames, StreamManager } from './stream-manager.js';
import { createSliceScorer } from './stream-slices.js';

const MODEL_REF = /^[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9._-]+)?$/;

/**
 * One stream's scorer: consumes signalled events one by one in arrival order, for the stream's deployment, forever
 * or until drained. State and transitions live in StreamManager; scoring in stream-slices.ts; the continue-as-new
 * hand-over in stream-handover.ts.
 */
export async function streamScoring(input: StreamScoringInput): Promise<StreamState> {
  assertStreamInput(input);
  const options: StreamOptions = { ...STREAM_OPTION_DEFAULTS, ...input.options };
  const { carried } = input;
  const stream = new StreamManager(
    input.streamId,
    options,
    { runId: workflowInfo().runId, startedAt: new Date().toISOString() },
    carried,
  );

  // Handlers are set before anything awaits, so no signal waits in the SDK's buffer (its order across names
  // would not be kept); events that come before the deployment is known wait, in order, in the manager.
  for (const name of eventSignalNames())
    setHandler(defineSignal<[unknown]>(name), (payload) =>
      stream.receive(name, payload, new Date().toISOString()),
    );
  setHandler(labelsSignal, (payload) => stream.receiveLabels(payload));
  setHandler(pauseSignal, () => void (stream.paused = true));
  setHandler(resumeSignal, () => void (stream.paused = false));
  setHandler(drainSignal, () => void (stream.draining = true));
  setHandler(stateQuery, () => stream.state());
  setHandler(
    setModelUpdate,
    async (ref) => {
      stream.model = await control.resolveStreamModel(ref);
      stream.routed = false; // a model named here pins the stream
      log.info('stream model changed', { streamId: input.streamId, model: stream.modelRef() });
      return stream.modelRef() ?? ref;
    },
    {
      validator: (ref) => {
        if (typeof ref !== 'string' || !MODEL_REF.test(ref))
          throw new Error(
            `model ref must look like name, name@version or name@alias (got ${JSON.stringify(ref)})`,
          );
      },
    },
  );
  setHandler(replayDeadLetterUpdate, async (request) => {
    const record = stream.replayRecord(request);
    const event = await control.takeDeadLetter({
      streamId: input.streamId,
      eventId: request.eventId,
      ...(record ? { record } : {}),
    });
    return stream.replay(event);
  });

  // The previous run told producers to hold their signals: the first thing this run does is release them.
  if (carried?.announced) await announce(stream, 'open');
  if (stream.deployment === undefined)
    stream.setDeployment(
      await control.resolveStreamDeployment({
        ...(input.deployment !== undefined ? { deployment: input.deployment } : {}),
        ...(input.model !== undefined ? { model: input.model } : {}),
      }),
    );

  const slices = createSliceScorer(stream);
  const handOverDue = () => stream.handOverDue(workflowInfo());
  const deployment = stream.deployment ?? '';
  // Labels are written between slices, in one activity call for all that waited.
  const writeLabels = async () => {
    const labels = stream.takeLabels();
    if (labels.length === 0) return;
    try {
      await control.recordStreamLabels({ deployment, labels });
      stream.labelsWritten(labels.length);
    } catch (err) {
      // Only a deployment this worker does not serve ends here (a write is retried until it succeeds).
      log.warn('stream labels dropped', {
        streamId: input.streamId,
        labels: labels.length,
        error: String(err),
      });
    }
  };
  for (;;) {
    const ready = () => stream.canScore() || stream.finished() || handOverDue() || stream.labelsWaiting() > 0;
    if (!ready()) {
      await condition(ready);
      slices.idle();
    }
    await writeLabels();
    if (stream.finished()) {
      await condition(allHandlersFinished);
      if (stream.waiting() === 0 && stream.labelsWaiting() === 0) return stream.state();
      continue;
    }
    if (handOverDue()) return handOver(stream, input);
    if (stream.canScore()) await slices.scoreNext();
  }
}

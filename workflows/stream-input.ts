/**
 * Checks a `streamScoring` input before anything runs, so a workflow started by hand (`temporal workflow start`)
 * with a malformed input fails at once, non-retryably, naming the field.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { STREAM_ID_PATTERN, type StreamOptions, type StreamScoringInput } from '../contracts/stream.js';

const INTEGER_OPTIONS = [
  'canAfterEvents',
  'dedupWindow',
  'maxRun',
  'maxAttempts',
  'retryInitialMs',
  'canAfterHistory',
  'maxCarriedQueue',
] as const satisfies readonly (keyof StreamOptions)[];

function problem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'input: must be an object';
  const { streamId, deployment, model, options } = input as Record<string, unknown>;
  if (typeof streamId !== 'string' || !STREAM_ID_PATTERN.test(streamId)) {
    return `streamId: must match ${String(STREAM_ID_PATTERN)} (got ${JSON.stringify(streamId ?? null)})`;
  }
  if (
    deployment !== undefined &&
    (typeof deployment !== 'string' || deployment.length === 0 || deployment.length > 63)
  ) {
    return `deployment: must be the name of a deployment (deployments/<name>.json) (got ${JSON.stringify(deployment)})`;
  }
  if (model !== undefined && (typeof model !== 'string' || model.length === 0 || model.length > 200)) {
    return `model: must be a model reference such as name@production (got ${JSON.stringify(model)})`;
  }
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    return 'options: must be an object';
  const o = options as Record<string, unknown>;
  for (const key of INTEGER_OPTIONS) {
    const v = o[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v > 0)) {
      return `options.${key}: must be a whole number > 0 (got ${JSON.stringify(v)})`;
    }
  }
  const grace = o.rolloverGraceMs;
  if (
    grace !== undefined &&
    !(typeof grace === 'number' && Number.isInteger(grace) && grace >= 0 && grace <= 10_000)
  ) {
    return `options.rolloverGraceMs: must be a whole number of ms from 0 to 10000 (got ${JSON.stringify(grace)})`;
  }
  if (o.localActivities !== undefined && typeof o.localActivities !== 'boolean') {
    return `options.localActivities: must be true or false (got ${JSON.stringify(o.localActivities)})`;
  }
  return undefined;
}

/** Throws a non-retryable `InvalidStreamInput` failure naming the first bad field. */
export function assertStreamInput(input: unknown): asserts input is StreamScoringInput {
  const message = problem(input);
  if (message) throw ApplicationFailure.create({ message, type: 'InvalidStreamInput', nonRetryable: true });
}

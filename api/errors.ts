/**
 * Typed API errors and their one mapping to HTTP. JSON routes answer RFC 9457 problem+json; a 500 never
 * leaks internals.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ScheduleNotFoundError } from '@temporalio/client';
import { BatchInputError, BatchRunNotFoundError } from '../control/batch-runs.js';
import { DriftInputError } from '../activities/drift.js';
import { RetrainingRunningError } from '../control/retraining.js';
import { RolloutNotFoundError, RoutingConflictError, RoutingRefusedError } from '../control/routing.js';
import { InvalidStreamIdError, StreamControlError, StreamNotFoundError } from '../control/streams.js';
import type { Logger } from '../logger.js';
import { QueueFullError } from '../scoring/batcher.js';
import { AliasError, ModelNotFoundError } from '../scoring/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly title: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

/** A request field failed validation; `field` is its JSON path (e.g. `records[3].amount`). */
export class ValidationError extends ApiError {
  constructor(readonly errors: { field: string; message: string }[]) {
    super(400, 'Invalid request', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, 'Not found', message);
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = 'Missing or invalid API key (send Authorization: Bearer <API_KEY>)') {
    super(401, 'Unauthorized', message);
  }
}

export class UnavailableError extends ApiError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(503, 'Service unavailable', message);
  }
}

/** A route group that is switched off by configuration (e.g. control routes without API_KEY). Never open. */
export class DisabledError extends ApiError {
  constructor(message: string) {
    super(503, 'Disabled', message);
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(message: string) {
    super(413, 'Payload too large', message);
  }
}

export class ConflictError extends ApiError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(409, 'Conflict', message, extra);
  }
}

/** An Open Inference Protocol (V2) request error; answered as `{"error": "..."}` like Triton and KServe do. */
export class InferenceError extends ApiError {
  constructor(status: ContentfulStatusCode, message: string) {
    super(status, 'Inference error', message);
  }
}

export function problem(c: Context, status: ContentfulStatusCode, title: string, detail: string, extra = {}) {
  return c.body(JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }), status, {
    'content-type': 'application/problem+json',
  });
}

/** Errors of other layers (model core, batcher) as API errors; anything unknown stays unknown (500). */
function toApiError(err: Error): Error {
  if (err instanceof ApiError) return err;
  if (err instanceof ModelNotFoundError) return new NotFoundError(err.message);
  if (err instanceof AliasError) return new ApiError(400, 'Invalid alias', err.message);
  if (err instanceof QueueFullError) return new UnavailableError(err.message, 1);
  if (err instanceof BatchInputError) return new ValidationError([{ field: err.field, message: err.reason }]);
  if (err instanceof InvalidStreamIdError)
    return new ValidationError([{ field: 'streamId', message: err.message }]);
  if (err instanceof BatchRunNotFoundError || err instanceof StreamNotFoundError)
    return new NotFoundError(err.message);
  if (err instanceof ScheduleNotFoundError) return new NotFoundError(err.message);
  if (err instanceof StreamControlError) return new ConflictError(err.message);
  if (err instanceof DriftInputError) return new ValidationError([{ field: err.field, message: err.reason }]);
  if (err instanceof RoutingRefusedError) return new ValidationError(err.problems);
  if (err instanceof RoutingConflictError) return new ConflictError(err.message);
  if (err instanceof RolloutNotFoundError) return new NotFoundError(err.message);
  if (err instanceof RetrainingRunningError) return new ConflictError(err.message);
  return err;
}

/** The single error handler for the whole app. V2 inference routes answer `{"error"}`, all others problem+json. */
export function errorHandler(logger: Logger) {
  return (thrown: Error, c: Context) => {
    const err = toApiError(thrown);
    const v2 = c.req.path === '/v2' || c.req.path.startsWith('/v2/');
    if (err instanceof UnavailableError) c.header('Retry-After', String(err.retryAfterSeconds));
    if (err instanceof ApiError) {
      if (v2) return c.json({ error: err.message }, err.status);
      return problem(c, err.status, err.title, err.message, err.extra);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      if (v2) return c.json({ error: err.message || `HTTP ${status}` }, status);
      return problem(c, status, err.message || 'Error', err.message || `HTTP ${status}`);
    }
    logger.error({ err, path: c.req.path }, 'unhandled error');
    if (v2) return c.json({ error: 'internal error; see the server log' }, 500);
    return problem(c, 500, 'Internal error', 'The server failed to handle this request; see the server log.');
  };
}

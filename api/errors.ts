/**
 * Typed API errors and their one mapping to HTTP. JSON routes answer RFC 9457 problem+json; a 500 never
 * leaks internals.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../logger.js';

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

/** A request field failed validation; `field` is its JSON path (e.g. `rides[3].trip_distance`). */
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

export function problem(c: Context, status: ContentfulStatusCode, title: string, detail: string, extra = {}) {
  return c.body(JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }), status, {
    'content-type': 'application/problem+json',
  });
}

/** The single error handler for the whole app. */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof UnavailableError) c.header('Retry-After', String(err.retryAfterSeconds));
    if (err instanceof ApiError) return problem(c, err.status, err.title, err.message, err.extra);
    if (err instanceof HTTPException) {
      const status = err.status;
      return problem(c, status, err.message || 'Error', err.message || `HTTP ${status}`);
    }
    logger.error({ err, path: c.req.path }, 'unhandled error');
    return problem(c, 500, 'Internal error', 'The server failed to handle this request; see the server log.');
  };
}

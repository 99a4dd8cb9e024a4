/**
 * Request body limit. Same answers as hono's `bodyLimit`, which it wraps, but it decides from the headers whenever
 * it can: hono's version reads `c.req.raw.body` first, and on @hono/node-server that one property turns the
 * lightweight request into a full undici Request (AbortController, web ReadableStream over the socket), about a
 * third of the server CPU of a small JSON request. GET/HEAD carry no body there; a declared Content-Length is
 * compared as is; only a chunked or undeclared body is streamed through hono's counting reader.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export function limitBody(maxSize: number, onError: () => never): MiddlewareHandler {
  const streamed = bodyLimit({ maxSize, onError });
  return (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (parseInt(length, 10) > maxSize) onError();
      return next();
    }
    return streamed(c, next);
  };
}

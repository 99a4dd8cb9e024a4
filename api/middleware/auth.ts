/**
 * Bearer API-key check for control and admin routes. The key is compared in constant time (SHA-256 digests of
 * equal length through crypto.timingSafeEqual). Without API_KEY configured the routes are disabled (503), never open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { DisabledError, UnauthorizedError } from '../errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function keysMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Requires `Authorization: Bearer <apiKey>` on the routes it is mounted on. */
export function requireApiKey(apiKey: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (!apiKey)
      throw new DisabledError('This endpoint is disabled: set API_KEY to enable control endpoints');
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1] || !keysMatch(match[1], apiKey)) throw new UnauthorizedError();
    await next();
  };
}

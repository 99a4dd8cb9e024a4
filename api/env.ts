/** The Hono environment every route group shares: per-request variables set by the app's middleware. */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import { ValidationError } from './errors.js';

export interface AppEnv {
  Variables: {
    /** X-Request-Id: the caller's when valid, else a new UUID. */
    requestId: string;
    /** performance.now() when the request entered the app. */
    startedAt: number;
    /** Scoring routes: marks the request as having reached the dynamic batcher (see api/online.ts Arrivals). */
    arrived: (() => void) | undefined;
  };
}

/** `records[3].amount` from a zod issue path. */
export function fieldPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(body)' : out;
}

export function issuesToErrors(error: z.ZodError, prefix = ''): { field: string; message: string }[] {
  return error.issues.map((issue) => ({ field: fieldPath(issue.path, prefix), message: issue.message }));
}

/** A sub-app whose zod failures become one ValidationError (400 naming each field) for the app's onError. */
export function routeGroup() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const prefix = result.target === 'query' ? 'query.' : result.target === 'param' ? 'path.' : '';
        throw new ValidationError(issuesToErrors(result.error, prefix));
      }
    },
  });
}

/**
 * The 200 JSON answer of a routed prediction, with `x-model-role` (champion, canary) while the deployment has a
 * challenger (none for an unrouted call). The header goes out as a plain object on the Response: set with
 * `c.header()`, or passed to `c.json` beside its content type, it makes Hono build a Headers object that
 * @hono/node-server then copies into Node's response, a few µs on every routed request (bench/README.md, Rollouts).
 * Without a challenger it is `c.json` as is.
 */
import type { Context } from 'hono';
import type { Routed } from './routing.js';

export function routedJson<T extends object>(
  c: Context,
  body: T,
  routed: Pick<Routed, 'state' | 'role'> | undefined,
) {
  if (!routed?.state) return c.json(body, 200);
  const res = new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-model-role': routed.role },
  });
  // The same answer c.json gives, typed as c.json's so a route's declared responses still check.
  return res as unknown as ReturnType<typeof c.json<T, 200>>;
}

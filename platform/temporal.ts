/**
 * Temporal connections for the API and workers, and registration of the project's search attributes on any
 * server (the dev server gets them at start; an external one through the operator service, idempotently).
 */
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contracts/temporal.js';
import type { Logger } from '../logger.js';

const RESOURCE_EXHAUSTED = 8; // gRPC status code

/**
 * gRPC retry for client connections (`Connection.connect({ interceptors })`). The server answers
 * RESOURCE_EXHAUSTED both under real overload and, briefly, to a signal that reaches a stream while its run is
 * closing ("workflow is closing"); the SDK's default first retry of that code waits ~1.7 s, which showed up as a
 * latency tail in `npm run bench:stream`. Here it is retried from 50 ms, doubling up to the SDK's 5 s cap (10
 * attempts, about 20 s in all, so real overload still backs off); every other code keeps the SDK's defaults.
 */
export function clientRetryInterceptors() {
  return [
    makeGrpcRetryInterceptor(
      defaultGrpcRetryOptions({
        factor: 2,
        initialIntervalMs: ({ code }) => (Number(code) === RESOURCE_EXHAUSTED ? 50 : 100),
      }),
    ),
  ];
}

/**
 * A client on a checked connection. Connecting checks the server inside the connection's call-context
 * AsyncLocalStorage (withDeadline), and an AsyncLocalStorage once run turns on Node's promise hooks for the whole
 * process from then on: in the API that cost 13-22 µs of main thread on every /predict request (bench/README.md,
 * "The API without promise hooks"), for a context nothing reads between calls. So the storage is disabled once connected; a later withDeadline or withAbortSignal turns it on
 * again for its own calls (and then it stays on).
 */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address, interceptors: clientRetryInterceptors() });
  connection.callContextStorage.disable();
  return new Client({ connection, namespace });
}

export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  logger?: Logger,
): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((key) => !(key.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      // 2 = INDEXED_VALUE_TYPE_KEYWORD
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, 2])),
    });
    logger?.info({ added: missing.map((k) => k.name) }, 'search attributes registered');
  } catch (err) {
    // Two processes registering at once: the loser sees "already exists", which is the state we want.
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
}

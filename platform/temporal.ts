/**
 * Temporal connections for the API and workers, and registration of the project's search attributes on any
 * server (the dev server gets them at start; an external one through the operator service, idempotently).
 */
import { Client, Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contracts/temporal.js';
import type { Logger } from '../logger.js';

export async function connectClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
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

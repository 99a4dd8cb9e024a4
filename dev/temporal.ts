/**
 * Runs the real Temporal CLI dev server (SQLite persistence, Web UI) as a child process.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contracts/temporal.js';
import { isPortOpen, startProcess, waitFor, type Managed } from './process.js';

export interface TemporalDevOptions {
  binary: string;
  port: number;
  /** Web UI port; `undefined` starts the server headless. */
  uiPort?: number;
  /** SQLite file for persistence; `undefined` keeps everything in memory. */
  dbFile?: string;
  namespace: string;
  onLine?: (line: string) => void;
}

export interface TemporalDev extends Managed {
  address: string;
}

export async function startTemporalDevServer(options: TemporalDevOptions): Promise<TemporalDev> {
  if (await isPortOpen('127.0.0.1', options.port)) {
    throw new Error(
      `Port ${options.port} is already in use: another Temporal server? Set TEMPORAL_ADDRESS=localhost:${options.port} to use it, or TEMPORAL_PORT to pick another port.`,
    );
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--namespace',
    options.namespace,
  ];
  args.push('--log-level', 'error');
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.dbFile) {
    await mkdir(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);

  const managed = startProcess(
    'temporal',
    options.binary,
    args,
    options.onLine ? { onLine: options.onLine } : {},
  );
  const address = `127.0.0.1:${options.port}`;
  const died = managed.exited.then((code) => {
    throw new Error(`Temporal dev server exited with code ${code} during start-up (see its log above)`);
  });
  await Promise.race([
    waitFor(`the Temporal dev server on ${address}`, () => isTemporalReachable(address), 60_000),
    died,
  ]);
  return { ...managed, address };
}

/** True when a Temporal frontend answers at `address`. */
export async function isTemporalReachable(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 }).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

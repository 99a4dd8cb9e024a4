/** Runs `api/server.ts` as a real child process on a free port (what `npm run api` starts), for HTTP-level tests. */
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, waitFor, type Managed } from '../../dev/process.js';
import { TEST_API_KEY, TEST_MODEL_DIR } from '../helpers.js';

export interface ApiProcess {
  url: string;
  port: number;
  process: Managed;
  /** Every line the process printed (stdout and stderr). */
  lines: string[];
}

const SERVER = fileURLToPath(new URL('../../api/server.ts', import.meta.url));

export async function spawnApi(options: {
  databaseUrl: string;
  temporalAddress: string;
  env?: Record<string, string>;
}): Promise<ApiProcess> {
  const port = await freePort();
  const lines: string[] = [];
  const child = startProcess('api', process.execPath, ['--import', 'tsx', SERVER], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress,
      HOST: '127.0.0.1',
      PORT: String(port),
      API_KEY: TEST_API_KEY,
      MODEL_DIR: TEST_MODEL_DIR,
      ...options.env,
    },
    onLine: (line) => lines.push(line),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'the API process to be ready',
      async () => {
        if (child.child.exitCode !== null) throw new Error(`API exited early:\n${lines.join('\n')}`);
        return (await fetch(`${url}/ready`)).ok;
      },
      60_000,
      200,
    );
  } catch (err) {
    await child.stop(2000);
    throw new Error(`${(err as Error).message}\n${lines.slice(-20).join('\n')}`);
  }
  return { url, port, process: child, lines };
}

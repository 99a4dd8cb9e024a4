/**
 * One fixture starts the real stack (dev/stack.ts): nothing else starts embedded Postgres, the Temporal dev
 * server or writes the workflow bundle, so a fix to start-up reaches npm start, tests, benchmarks and faults alike.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const STARTERS = /\b(startEmbeddedPostgres|startTemporalDevServer|writeWorkflowBundle)\(/;
/** Where the starters are defined, and the fixture that calls them. */
const ALLOWED = new Set(['dev/stack.ts', 'dev/postgres.ts', 'dev/temporal.ts', 'workers/bundle.ts']);
const SKIP = new Set(['node_modules', 'dist', '.data', '.tools', '.git']);

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((e) => !SKIP.has(e.name) && !e.name.startsWith('.'))
      .map((e) =>
        e.isDirectory()
          ? sourceFiles(path.join(dir, e.name))
          : Promise.resolve(/\.(ts|mjs)$/.test(e.name) ? [path.join(dir, e.name)] : []),
      ),
  );
  return nested.flat();
}

describe('one stack fixture', () => {
  it('only dev/stack.ts starts Postgres, Temporal or writes the workflow bundle', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(root)) {
      const rel = path.relative(root, file);
      if (ALLOWED.has(rel) || rel === 'test/one-stack.test.ts') continue;
      if (STARTERS.test(await readFile(file, 'utf8'))) offenders.push(rel);
    }
    expect(offenders, 'call dev/stack.ts (startTestServers, startPostgres, ...) instead').toEqual([]);
  });
});

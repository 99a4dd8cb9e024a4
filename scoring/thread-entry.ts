/**
 * Starts a worker thread on a sibling entry module: compiled JavaScript as is; TypeScript (tsx, vitest) through
 * tsx's loader, registered first.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function threadEntry(here: URL, entry: string, workerData: unknown): Worker {
  if (here.pathname.endsWith('.js')) return new Worker(new URL(`./${entry}.js`, here), { workerData });
  const tsxPackage = createRequire(here).resolve('tsx/package.json');
  const api = pathToFileURL(path.join(path.dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const file = new URL(`./${entry}.ts`, here).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); });`;
  return new Worker(code, { eval: true, workerData });
}

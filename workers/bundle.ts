/**
 * Workflow code for the worker: a prebuilt bundle in production (`npm run build` writes it), the sources in
 * development and tests. Run directly, this file writes the bundle.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, type WorkerOptions } from '@temporalio/worker';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
export const BUNDLE_PATH = fileURLToPath(new URL('../dist/workflow-bundle.js', import.meta.url));

/** Options that point a worker at its workflow code: the given prebuilt bundle, else the sources. */
export function workflowSource(bundlePath?: string): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (bundlePath) {
    if (!existsSync(bundlePath))
      throw new Error(`WORKFLOW_BUNDLE ${bundlePath} does not exist (run npm run build)`);
    return { workflowBundle: { codePath: bundlePath } };
  }
  return { workflowsPath: WORKFLOWS_PATH };
}

export async function writeWorkflowBundle(outFile: string = BUNDLE_PATH): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
  });
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return outFile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await writeWorkflowBundle(process.argv[2] ?? BUNDLE_PATH);
  process.stdout.write(`workflow bundle written to ${out}\n`);
}

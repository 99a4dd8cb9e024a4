/** The workflow sandbox rules are real: the project's own ESLint config rejects side effects in workflows/. */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function lintWorkflow(code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: 'workflows/ping.ts' });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('workflow sandbox lint', () => {
  it('rejects Node built-ins, pg, onnxruntime-node and activity values', async () => {
    const messages = await lintWorkflow(
      [
        "import { readFileSync } from 'node:fs';",
        "import pg from 'pg';",
        "import * as ort from 'onnxruntime-node';",
        "import { createActivities } from '../activities/index.js';",
        'export const x = [readFileSync, pg, ort, createActivities];',
        '',
      ].join('\n'),
    );
    const restricted = messages.filter((m) => m.startsWith('@typescript-eslint/no-restricted-imports'));
    expect(restricted).toHaveLength(4);
    expect(messages.join('\n')).toMatch(/Node built-ins are not allowed in workflow code/);
    expect(messages.join('\n')).toMatch(/Model inference belongs in activities/);
    expect(messages.join('\n')).toMatch(/as types only/);
  });

  it('allows type-only activity imports and flags floating promises', async () => {
    const messages = await lintWorkflow(
      [
        "import { proxyActivities, sleep } from '@temporalio/workflow';",
        "import type { Activities } from '../activities/index.js';",
        "const { storePing } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute' });",
        'export async function sample(): Promise<void> {',
        "  sleep('1 second');",
        "  await storePing({ id: 'a', message: 'b' });",
        '}',
        '',
      ].join('\n'),
    );
    expect(messages.filter((m) => m.includes('no-restricted-imports'))).toEqual([]);
    expect(messages.some((m) => m.startsWith('@typescript-eslint/no-floating-promises'))).toBe(true);
  });
});

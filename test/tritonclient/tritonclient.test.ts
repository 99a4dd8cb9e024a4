/**
 * The official Triton HTTP client (tritonclient.http, Python) against the real API process: default binary
 * tensors, explicit binary outputs and plain JSON, each compared to POST /predict; and a classifier whose string
 * inputs and outputs travel as BYTES, compared to its /models/{name}/predict answer. Installs the pinned client into
 * its own project-local venv (.tools/venv-tritonclient) when missing; skips only when there is no python3 at all.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { spawnApi, type ApiProcess } from '../api/api-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const venvDir = path.resolve(
  loadConfig({ ...process.env, NODE_ENV: 'test' }).paths.tools,
  'venv-tritonclient',
);
const venv = path.join(venvDir, 'bin');
const python = path.join(venv, 'python');
const systemPython = [
  '/usr/bin/python3',
  '/usr/local/bin/python3',
  ...(process.env.PATH ?? '').split(':').map((d) => `${d}/python3`),
].find((p) => existsSync(p));

describe.skipIf(!systemPython)('tritonclient.http against the V2 routes (needs python3)', () => {
  let db: TestDatabase;
  let api: ApiProcess;

  beforeAll(async () => {
    if (!existsSync(python) && systemPython) await run(systemPython, ['-m', 'venv', venvDir]);
    const installed = await run(python, ['-c', 'import tritonclient.http, geventhttpclient']).then(
      () => true,
      () => false,
    );
    if (!installed) {
      await run(path.join(venv, 'pip'), ['install', '--quiet', '-r', path.join(here, 'requirements.txt')], {
        timeout: 600_000,
      });
    }
    db = await createTestDatabase();
    api = await spawnApi({ databaseUrl: db.url, temporalAddress: inject('temporalAddress') });
  }, 660_000);
  afterAll(async () => {
    await api?.process.stop();
    await db?.drop();
  });

  for (const version of ['2', '1']) {
    it(`version ${version}: binary (defaults), binary outputs and JSON all equal /predict`, async () => {
      const { stdout } = await run(python, [
        path.join(here, 'check.py'),
        '--url',
        `127.0.0.1:${api.port}`,
        '--version',
        version,
      ]).catch((err: { stdout?: string; stderr?: string }) => {
        throw new Error(`check.py failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
      });
      const report = JSON.parse(stdout) as {
        ok: boolean;
        inputs: string[];
        expected: number[];
        modes: Record<string, { matches_predict: boolean; id: string }>;
        unknown_model: string;
      };
      expect(report.modes).toEqual({
        default: expect.objectContaining({ matches_predict: true, id: 'check-1' }) as unknown,
        binary: expect.objectContaining({ matches_predict: true, id: 'check-1' }) as unknown,
        json: expect.objectContaining({ matches_predict: true, id: 'check-1' }) as unknown,
      });
      expect(report.inputs).toHaveLength(version === '2' ? 5 : 3);
      expect(report.unknown_model).toContain('unknown model "no-such-model"');
      expect(report.ok).toBe(true);
    });
  }

  it('a classifier with string inputs and outputs: BYTES both ways, binary and JSON, equal to its predict route', async () => {
    const { stdout } = await run(python, [
      path.join(here, 'check_classifier.py'),
      '--url',
      `127.0.0.1:${api.port}`,
    ]).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`check_classifier.py failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    const report = JSON.parse(stdout) as {
      metadata_inputs: string[];
      checks: Record<
        string,
        { labels: string[]; expected: string[]; max_probability_diff: number; ok: boolean }
      >;
    };
    expect(report.metadata_inputs).toEqual(['BYTES', 'FP32', 'FP32', 'FP32', 'FP32', 'BYTES', 'INT64']);
    for (const mode of ['binary', 'json']) {
      const check = report.checks[mode];
      expect(check?.labels, mode).toEqual(check?.expected);
      expect(check?.max_probability_diff, mode).toBeLessThan(1e-6);
    }
    // Binary mode carries the record with missing numbers (NaN) too; JSON mode the complete ones.
    expect(report.checks.binary?.labels).toEqual(['Adelie', 'Gentoo', 'Chinstrap', expect.any(String)]);
    expect(report.checks.json?.labels).toEqual(['Adelie', 'Gentoo', 'Chinstrap']);
  });
});

/**
 * `npm run generate -- --month 2024-03 --rows 1000000 [--seed 42] [--bad-share 0.02] [--out file.parquet | --db]
 * [--file-name name]`: seeded synthetic green rides, into a TLC-shaped parquet file or straight into `rides`.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, cliDatabaseUrl } from '../config.js';
import { createPool } from '../db/pool.js';
import { isDataError, printSummaryTable } from '../data/cli-output.js';
import { DataOptionError } from '../data/errors.js';
import { generateIntoDb } from '../data/generate-db.js';
import { writeGeneratedParquet } from '../data/generate-parquet.js';
import { resolveGenerateOptions, type GenerateOptions } from '../data/generate.js';
import { createProgress } from '../data/progress.js';
import { runMain } from '../platform/run-main.js';

const USAGE =
  'usage: npm run generate -- --month YYYY-MM --rows N [--seed 42] [--bad-share 0.02] ' +
  '(--out file.parquet|dir | --db) [--file-name name]';

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new DataOptionError(name, `must be a number (got ${value})`);
  return n;
}

async function outputPath(out: string, fileName: string | undefined, month: string): Promise<string> {
  const isDir = await stat(out).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return isDir ? path.join(out, fileName ?? `green_tripdata_${month}.parquet`) : out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      month: { type: 'string' },
      rows: { type: 'string' },
      seed: { type: 'string' },
      'bad-share': { type: 'string' },
      'batch-size': { type: 'string' },
      out: { type: 'string' },
      db: { type: 'boolean' },
      'file-name': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.month || !values.rows || Boolean(values.out) === Boolean(values.db)) {
    process.stderr.write(`${USAGE}\n  (exactly one of --out or --db)\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const options: GenerateOptions = resolveGenerateOptions({
    month: values.month,
    rows: numberOption('rows', values.rows) ?? 0,
    seed: numberOption('seed', values.seed),
    badShare: numberOption('bad-share', values['bad-share']),
    batchSize: numberOption('batch-size', values['batch-size']),
  });
  if (values.out) {
    const file = await outputPath(values.out, values['file-name'], options.month);
    const written = await writeGeneratedParquet(file, options);
    process.stdout.write(
      `wrote ${written.rows} rows to ${file} in ${written.seconds.toFixed(2)} s ` +
        `(${Math.round(written.rows / Math.max(written.seconds, 1e-9))} rows/s)\n`,
    );
    return;
  }
  const pool = createPool(cliDatabaseUrl(loadConfig()), { max: 2, application: 'generate' });
  try {
    const progress = createProgress(`generate ${options.month}`, options.rows);
    const summary = await generateIntoDb(pool, {
      ...options,
      ...(values['file-name'] ? { sourceFile: values['file-name'] } : {}),
      onProgress: (p) => progress.update(p.rowsRead),
    });
    progress.stop();
    printSummaryTable([summary]);
  } finally {
    await pool.end();
  }
}

runMain(() =>
  main().catch((err: unknown) => {
    if (!isDataError(err)) throw err;
    process.stderr.write(`generate failed: ${err.message}\n`);
    process.exitCode = 1;
  }),
);

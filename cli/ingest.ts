/** `npm run ingest -- <file.parquet> [...] [--month YYYY-MM]`: loads TLC parquet files into `rides`. */
import { parseArgs } from 'node:util';
import { loadConfig, cliDatabaseUrl } from '../config.js';
import { createPool } from '../db/pool.js';
import { isDataError, printSummaryTable } from '../data/cli-output.js';
import { ingestParquetFile, type IngestSummary } from '../data/ingest.js';
import { createProgress, type ProgressReporter } from '../data/progress.js';
import { runMain } from '../platform/run-main.js';

const USAGE =
  'usage: npm run ingest -- <file.parquet> [...] [--month YYYY-MM] [--batch-size N]\n' +
  '  --month: for files not named *_tripdata_YYYY-MM.parquet; applies to every file given';

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { month: { type: 'string' }, 'batch-size': { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  const pool = createPool(cliDatabaseUrl(loadConfig()), { max: 2, application: 'ingest' });
  const summaries: IngestSummary[] = [];
  try {
    for (const file of positionals) {
      let progress: ProgressReporter | undefined;
      try {
        const summary = await ingestParquetFile(pool, file, {
          ...(values.month ? { month: values.month } : {}),
          ...(batchSize === undefined ? {} : { batchSize }),
          onProgress: (p) => {
            progress ??= createProgress(file, p.totalRows);
            progress.update(p.rowsRead);
          },
        });
        progress?.stop();
        summaries.push(summary);
      } catch (err) {
        progress?.stop();
        if (!isDataError(err)) throw err;
        process.stderr.write(`ingest failed, nothing written for this file: ${err.message}\n`);
        process.exitCode = 1;
      }
    }
  } finally {
    await pool.end();
  }
  printSummaryTable(summaries);
});

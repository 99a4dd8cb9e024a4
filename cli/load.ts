/** `npm run load -- <file.csv|file.parquet> --table <name> --key <column>`: loads a file into a keyed table. */
import { parseArgs } from 'node:util';
import { loadConfig, cliDatabaseUrl } from '../config.js';
import { createPool } from '../db/pool.js';
import { ParquetFileError } from '../data/errors.js';
import { loadTable } from '../data/load-table.js';
import { createProgress, type ProgressReporter } from '../data/progress.js';
import { TableLoadError } from '../data/table-errors.js';
import { runMain } from '../platform/run-main.js';

const USAGE =
  'usage: npm run load -- <file.csv|file.parquet> --table <name> --key <column>\n' +
  '  creates the table when missing (types inferred from the file, --key as PRIMARY KEY) and inserts the rows\n' +
  '  whose key is not there yet; DATABASE_URL, else the database of a running npm start';

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { table: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean' } },
  });
  const [file, ...rest] = positionals;
  if (values.help || !file || rest.length > 0 || !values.table || !values.key) {
    const missing = [!file && 'a file', !values.table && '--table', !values.key && '--key'].filter(Boolean);
    if (!values.help && missing.length > 0) process.stderr.write(`missing ${missing.join(', ')}\n`);
    if (rest.length > 0) process.stderr.write(`one file at a time (got ${positionals.length})\n`);
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const pool = createPool(cliDatabaseUrl(loadConfig()), { max: 1, application: 'load' });
  let progress: ProgressReporter | undefined;
  try {
    const s = await loadTable(pool, file, {
      table: values.table,
      key: values.key,
      onProgress: ({ rowsDone, totalRows }) => {
        progress ??= createProgress(file, totalRows);
        progress.update(rowsDone);
      },
    });
    progress?.stop();
    const columns = s.columns.map((c) => `${c.name} ${c.type}${c.name === s.key ? ' (key)' : ''}`).join(', ');
    process.stdout.write(
      `table ${s.table} (${s.created ? 'created' : 'existing'}): ${columns}\n` +
        `${s.file}: ${s.rowsRead} rows read, ${s.inserted} inserted, ${s.alreadyPresent} already present ` +
        `in ${s.seconds.toFixed(2)} s\n`,
    );
  } catch (err) {
    progress?.stop();
    if (!(err instanceof TableLoadError || err instanceof ParquetFileError)) throw err;
    process.stderr.write(`load failed, nothing written: ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    await pool.end();
  }
});

/** Shared CLI output for ingest and generate: the per-file summary table and which errors print without a stack. */
import { DataOptionError, MissingMonthError, NotTlcFileError, ParquetFileError } from './errors.js';
import type { LoadResult } from './load-rides.js';

export type DataError = NotTlcFileError | MissingMonthError | ParquetFileError | DataOptionError;

/** Expected, user-facing failures: print the message, not a stack. */
export function isDataError(err: unknown): err is DataError {
  return (
    err instanceof NotTlcFileError ||
    err instanceof MissingMonthError ||
    err instanceof ParquetFileError ||
    err instanceof DataOptionError
  );
}

export interface SummaryRow extends LoadResult {
  sourceFile: string;
  seconds: number;
  rowsPerSecond: number;
}

export function printSummaryTable(rows: SummaryRow[], out: NodeJS.WritableStream = process.stdout): void {
  if (rows.length === 0) return;
  const table = rows.map((r) => ({
    file: r.sourceFile,
    'rows read': r.rowsRead,
    inserted: r.inserted,
    'already present': r.alreadyPresent,
    skipped: r.skipped,
    seconds: Number(r.seconds.toFixed(2)),
    'rows/s': Math.round(r.rowsPerSecond),
  }));
  const headers = Object.keys(table[0] ?? {});
  const cells = table.map((r) => Object.values(r).map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (values: string[]) =>
    values.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ');
  out.write(`${line(headers)}\n${cells.map(line).join('\n')}\n`);
}

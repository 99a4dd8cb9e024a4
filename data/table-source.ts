/**
 * A file to load as a table, whatever its format: its columns (name and inferred Postgres type), its row count,
 * and its rows as COPY text, read again from the file so memory holds one batch, never the whole file.
 */
import { TableLoadError } from './table-errors.js';
import type { SourceColumn } from './table-types.js';

export interface TableSource {
  file: string;
  format: 'csv' | 'parquet';
  columns: SourceColumn[];
  rows: number;
  /** COPY text (tab-separated lines, `\N` for NULL) of every row in `columns` order; `onRows` gets rows so far. */
  copyText(onRows: (rowsDone: number) => void): AsyncIterable<string>;
}

/** Postgres folds nothing inside quotes but cuts names at 63 bytes, which could merge two columns silently. */
const MAX_IDENTIFIER_BYTES = 63;

/** Checks column names read from a file: each non-empty, unique, at most 63 bytes, no NUL. */
export function checkColumnNames(file: string, names: readonly string[]): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    const where = `column ${i + 1}${name ? ` ("${name}")` : ''}`;
    if (name.trim() === '') throw new TableLoadError(file, `${where} has no name`);
    if (name.includes('\0')) throw new TableLoadError(file, `${where}: a column name cannot contain NUL`);
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES)
      throw new TableLoadError(file, `${where}: a column name is at most ${MAX_IDENTIFIER_BYTES} bytes`);
    if (seen.has(name)) throw new TableLoadError(file, `column "${name}" appears twice in the header`);
    seen.add(name);
  });
}

/**
 * A parquet file as a table source: column types from the file's schema (no data pass), rows streamed batch by
 * batch through the project's parquet reader and written as COPY text.
 */
import { parquetSchema } from 'hyparquet';
import { openParquet, readColumnBatches } from './parquet-reader.js';
import { TableLoadError } from './table-errors.js';
import { checkColumnNames, type TableSource } from './table-source.js';
import {
  copyEscape,
  microsToText,
  parquetColumnType,
  type PgType,
  type SourceColumn,
} from './table-types.js';

const BATCH_ROWS = 5000;

/** Reads the footer: columns and their types, row count. A nested or unknown column is refused by name. */
export async function openParquetSource(file: string): Promise<TableSource> {
  const opened = await openParquet(file);
  const children = parquetSchema(opened.metadata).children;
  checkColumnNames(
    file,
    children.map((c) => c.element.name),
  );
  const columns: SourceColumn[] = children.map((child) => {
    const type = parquetColumnType(child.element);
    if (typeof type !== 'string')
      throw new TableLoadError(
        file,
        `column "${child.element.name}" cannot be loaded: it is ${type.unsupported}`,
      );
    return { name: child.element.name, type, empty: false };
  });
  return {
    file,
    format: 'parquet',
    columns,
    rows: opened.numRows,
    async *copyText(onRows) {
      const names = columns.map((c) => c.name);
      const format = columns.map((c) => formatter(c.type));
      for await (const batch of readColumnBatches(opened, { columns: names, batchSize: BATCH_ROWS })) {
        const data = names.map((n) => batch.columns.get(n));
        const lines = new Array<string>(batch.rowEnd - batch.rowStart);
        for (let r = 0; r < lines.length; r++) {
          let line = '';
          for (let c = 0; c < data.length; c++) {
            const value: unknown = data[c]?.[r];
            line +=
              (c === 0 ? '' : '\t') + (value === null || value === undefined ? '\\N' : format[c]?.(value));
          }
          lines[r] = line;
        }
        yield `${lines.join('\n')}\n`;
        onRows(batch.rowEnd);
      }
    },
  };
}

type Format = (value: unknown) => string;

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  // Parsed JSON (objects, arrays) back to JSON text; bigints inside it as numbers' text.
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}

function float(value: unknown): string {
  const n = Number(value);
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n); // shortest text that reads back as the same double
}

/** How one value of a column of this type is written in COPY text. */
function formatter(type: PgType): Format {
  switch (type) {
    case 'bigint':
    case 'numeric':
      return (v) => String(v);
    case 'double precision':
      return float;
    case 'boolean':
      return (v) => (v ? 't' : 'f');
    case 'date':
      return (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v));
    case 'timestamp':
      return (v) => microsToText(Number(v), false);
    case 'timestamptz':
      return (v) => microsToText(Number(v), true);
    case 'bytea':
      return (v) => `\\\\x${v instanceof Uint8Array ? Buffer.from(v).toString('hex') : ''}`;
    case 'text':
      return (v) => copyEscape(text(v));
  }
}

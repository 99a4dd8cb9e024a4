/**
 * A CSV file as a table source: an RFC 4180 reader (quoted fields, doubled quotes, CRLF or LF, newlines inside
 * quotes, a UTF-8 byte order mark), a first pass that infers each column's type and counts rows, and a second
 * pass that streams the rows as COPY text. Empty fields are NULL; blank lines are skipped.
 */
import { createReadStream } from 'node:fs';
import { TableLoadError } from './table-errors.js';
import { copyEscape, TextColumnType, type SourceColumn } from './table-types.js';
import { checkColumnNames, type TableSource } from './table-source.js';

export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  fields: string[];
}

type State = 'start' | 'unquoted' | 'quoted' | 'quote' | 'closed';

/**
 * Yields the records of a CSV file (the header included), streaming. A state machine, so a doubled quote or a
 * CRLF split across two read chunks needs no look-ahead: 'quote' is "saw a quote inside a quoted field".
 */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  let fields: string[] = [];
  let field = '';
  let state: State = 'start';
  let line = 1;
  let recordLine = 1;
  let skipLf = false; // the previous character was a CR ending a record
  let bomChecked = false;
  const stream = createReadStream(file, { encoding: 'utf8' });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = chunk;
      if (!bomChecked) {
        bomChecked = true;
        if (text.startsWith('\uFEFF')) text = text.slice(1);
      }
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (skipLf) {
          skipLf = false;
          if (c === '\n') continue;
        }
        if (state === 'quoted') {
          if (c === '"') state = 'quote';
          else {
            if (c === '\n') line++;
            field += c;
          }
          continue;
        }
        if (state === 'quote') {
          if (c === '"') {
            field += '"';
            state = 'quoted';
            continue;
          }
          state = 'closed';
        }
        if (c === ',') {
          fields.push(field);
          field = '';
          state = 'start';
        } else if (c === '\n' || c === '\r') {
          skipLf = c === '\r';
          fields.push(field);
          if (!(fields.length === 1 && field === '' && state === 'start')) yield { line: recordLine, fields };
          fields = [];
          field = '';
          state = 'start';
          line++;
          recordLine = line;
        } else if (state === 'start' && c === '"') {
          state = 'quoted';
        } else if (state === 'closed') {
          throw new TableLoadError(file, `line ${line}: unexpected character after a closing quote`);
        } else {
          field += c;
          state = 'unquoted';
        }
      }
    }
  } catch (err) {
    if (err instanceof TableLoadError) throw err;
    throw new TableLoadError(file, `cannot read file: ${(err as Error).message}`, { cause: err });
  }
  if (state === 'quoted') throw new TableLoadError(file, `line ${recordLine}: a quoted field is not closed`);
  if (state !== 'start' || fields.length > 0) {
    fields.push(field);
    yield { line: recordLine, fields };
  }
}

/** Reads the whole file once: header checks, field counts, each column's type and the row count. */
export async function openCsvSource(file: string): Promise<TableSource> {
  let header: string[] | undefined;
  let types: TextColumnType[] = [];
  let rows = 0;
  for await (const { line, fields } of readCsvRecords(file)) {
    if (!header) {
      checkColumnNames(file, fields);
      header = fields;
      types = fields.map(() => new TextColumnType());
      continue;
    }
    if (fields.length !== header.length)
      throw new TableLoadError(
        file,
        `line ${line} has ${fields.length} fields, the header has ${header.length}`,
      );
    fields.forEach((v, i) => {
      if (v !== '') types[i]?.add(v);
    });
    rows++;
  }
  if (!header) throw new TableLoadError(file, 'the file is empty (no header line)');
  const columns: SourceColumn[] = header.map((name, i) => {
    const t = types[i] ?? new TextColumnType();
    return { name, type: t.type, empty: t.empty };
  });
  return { file, format: 'csv', columns, rows, copyText: (onRows) => csvCopyText(file, columns, onRows) };
}

const CHUNK_ROWS = 1000;

async function* csvCopyText(
  file: string,
  columns: readonly SourceColumn[],
  onRows: (rowsDone: number) => void,
): AsyncGenerator<string> {
  const escape = columns.map((c) => c.type === 'text');
  let lines: string[] = [];
  let done = 0;
  let headerSeen = false;
  for await (const { fields } of readCsvRecords(file)) {
    if (!headerSeen) {
      headerSeen = true;
      continue;
    }
    lines.push(fields.map((v, i) => (v === '' ? '\\N' : escape[i] ? copyEscape(v) : v)).join('\t'));
    if (lines.length === CHUNK_ROWS) {
      done += lines.length;
      yield `${lines.join('\n')}\n`;
      onRows(done);
      lines = [];
    }
  }
  if (lines.length > 0) {
    done += lines.length;
    yield `${lines.join('\n')}\n`;
    onRows(done);
  }
}

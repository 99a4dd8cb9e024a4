/** The CSV reader and type inference of `npm run load`, on files written to a temporary folder. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvSource, readCsvRecords } from './csv-source.js';

describe('CSV source', () => {
  let dir: string;
  let n = 0;
  const csv = async (text: string) => {
    const file = path.join(dir, `f${n++}.csv`);
    await writeFile(file, text);
    return file;
  };
  const records = async (file: string) => {
    const out: string[][] = [];
    for await (const r of readCsvRecords(file)) out.push(r.fields);
    return out;
  };
  const copied = async (file: string) => {
    const source = await openCsvSource(file);
    let text = '';
    for await (const chunk of source.copyText(() => undefined)) text += chunk;
    return text;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'csv-source-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads quoted fields, doubled quotes, CRLF, newlines inside quotes, a BOM and blank lines', async () => {
    const file = await csv(
      '\uFEFFid,name,note\r\n1,"Smith, J","said ""hi"""\r\n\r\n2,plain,"two\nlines"\n3,,\n',
    );
    expect(await records(file)).toEqual([
      ['id', 'name', 'note'],
      ['1', 'Smith, J', 'said "hi"'],
      ['2', 'plain', 'two\nlines'],
      ['3', '', ''],
    ]);
  });

  it('keeps a doubled quote and a CRLF that fall across two read chunks', async () => {
    // createReadStream reads 64 KiB chunks: put `""` and then `\r\n` exactly on the boundary.
    const pad = 'x'.repeat(65536 - 'a\n"'.length - 1);
    const file = await csv(`a\n"${pad}""q"\n`);
    expect((await records(file))[1]?.[0]).toBe(`${pad}"q`);
    const pad2 = 'y'.repeat(65536 - 'a\n'.length - 1);
    const file2 = await csv(`a\n${pad2}\r\nz\n`);
    expect(await records(file2)).toEqual([['a'], [pad2], ['z']]);
  });

  it('names the line of a ragged row, an unclosed quote and text after a closing quote', async () => {
    await expect(openCsvSource(await csv('a,b\n1,2\n3\n'))).rejects.toThrow(
      /f\d+\.csv: line 3 has 1 fields, the header has 2$/,
    );
    await expect(openCsvSource(await csv('a,b\n1,"open\n'))).rejects.toThrow(
      /line 2: a quoted field is not closed$/,
    );
    await expect(openCsvSource(await csv('a\n"x"y\n'))).rejects.toThrow(
      /line 2: unexpected character after a closing quote$/,
    );
    await expect(openCsvSource(await csv(''))).rejects.toThrow(/the file is empty \(no header line\)$/);
    await expect(openCsvSource(await csv('a,,c\n'))).rejects.toThrow(/column 2 has no name$/);
    await expect(openCsvSource(await csv('a,b,a\n'))).rejects.toThrow(
      /column "a" appears twice in the header$/,
    );
  });

  it('infers a Postgres type per column from every value, empty fields aside', async () => {
    const file = await csv(
      [
        'i,f,b,d,ts,tz,mixed_ts,code,word,none,big',
        '1,1.5,true,2024-03-01,2024-03-01T08:15:00,2024-03-01T08:15:00Z,2024-03-01T08:15:00,007,a,,9223372036854775808',
        '-2,2,FALSE,2024-03-02,2024-03-01 08:15:00.123456,2024-03-01T08:15:00+01:00,2024-03-01T08:15:00Z,12,b,,1',
        ',NaN,,,,,,,3,,',
      ].join('\n'),
    );
    const source = await openCsvSource(file);
    expect(source.rows).toBe(3);
    expect(Object.fromEntries(source.columns.map((c) => [c.name, c.type]))).toEqual({
      i: 'bigint',
      f: 'double precision',
      b: 'boolean',
      d: 'date',
      ts: 'timestamp',
      tz: 'timestamptz',
      mixed_ts: 'text', // naive and offset times mixed
      code: 'text', // a leading zero is a code, not a number
      word: 'text',
      none: 'text',
      big: 'numeric', // beyond bigint
    });
    expect(source.columns.find((c) => c.name === 'none')?.empty).toBe(true);
  });

  it('writes COPY text: NULL for empty fields, text escaped', async () => {
    const file = await csv('k,t\n1,"tab\there\\back"\n2,\n');
    expect(await copied(file)).toBe('1\ttab\\there\\\\back\n2\t\\N\n');
  });
});

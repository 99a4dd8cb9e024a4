/** `loadTable` against the real embedded Postgres: CSV and parquet in, re-loads idempotent, each refusal named. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/helpers.js';
import { loadTable } from './load-table.js';

const PENGUINS = [
  'penguin_id,species,island,bill_length_mm,body_mass_g,sex,year',
  '0,Adelie,Torgersen,39.1,3750.0,male,2007',
  '1,Adelie,Torgersen,,,,2007',
  '2,Gentoo,Biscoe,46.1,4500.0,female,2008',
  '3,Chinstrap,"Dream, north",46.5,3500.0,"fe""male",2009',
].join('\n');

describe('npm run load (loadTable)', () => {
  let db: TestDatabase;
  let dir: string;
  let n = 0;
  const file = async (name: string, text: string) => {
    const p = path.join(dir, `${n++}-${name}`);
    await writeFile(p, text);
    return p;
  };
  const columnTypes = async (table: string) =>
    Object.fromEntries(
      (
        await db.pool.query<{ c: string; t: string }>(
          `SELECT column_name AS c, data_type AS t FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1`,
          [table],
        )
      ).rows.map((r) => [r.c, r.t]),
    );
  const tableExists = async (table: string) =>
    (await db.pool.query('SELECT 1 FROM pg_class WHERE relname = $1', [table])).rowCount === 1;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'load-table-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates the table from a CSV, loads every row, and a re-load inserts nothing', async () => {
    const csv = await file('penguins.csv', PENGUINS);
    const progress: number[] = [];
    const first = await loadTable(db.pool, csv, {
      table: 'penguins',
      key: 'penguin_id',
      onProgress: (p) => progress.push(p.rowsDone, p.totalRows),
    });
    expect(first).toMatchObject({ created: true, rowsRead: 4, inserted: 4, alreadyPresent: 0 });
    expect(progress).toEqual([4, 4]);
    expect(await columnTypes('penguins')).toEqual({
      penguin_id: 'bigint',
      species: 'text',
      island: 'text',
      bill_length_mm: 'double precision',
      body_mass_g: 'double precision',
      sex: 'text',
      year: 'bigint',
    });
    const rows = await db.pool.query('SELECT * FROM penguins ORDER BY penguin_id');
    expect(rows.rows[1]).toEqual({
      penguin_id: '1',
      species: 'Adelie',
      island: 'Torgersen',
      bill_length_mm: null,
      body_mass_g: null,
      sex: null,
      year: '2007',
    });
    expect(rows.rows[3]).toMatchObject({ island: 'Dream, north', sex: 'fe"male', bill_length_mm: 46.5 });
    const pk = await db.pool.query<{ a: string }>(
      `SELECT a.attname AS a FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
        AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'penguins'::regclass AND i.indisprimary`,
    );
    expect(pk.rows).toEqual([{ a: 'penguin_id' }]);

    const again = await loadTable(db.pool, csv, { table: 'penguins', key: 'penguin_id' });
    expect(again).toMatchObject({ created: false, rowsRead: 4, inserted: 0, alreadyPresent: 4 });

    // A later file with old and new rows adds only the new ones; the old rows keep their values.
    const more = await file(
      'more.csv',
      `${PENGUINS}\n4,Gentoo,Biscoe,50,5000,male,2009`.replace('39.1', '99'),
    );
    expect(await loadTable(db.pool, more, { table: 'penguins', key: 'penguin_id' })).toMatchObject({
      rowsRead: 5,
      inserted: 1,
      alreadyPresent: 4,
    });
    const kept = await db.pool.query('SELECT bill_length_mm FROM penguins WHERE penguin_id = 0');
    expect(kept.rows).toEqual([{ bill_length_mm: 39.1 }]);
  });

  it('loads a parquet file with the types of its schema, idempotently', async () => {
    const pq = path.join(dir, 'events.parquet');
    const us = (iso: string) => BigInt(Date.parse(iso)) * 1000n + 123n;
    parquetWriteFile({
      filename: pq,
      columnData: [
        { name: 'event_id', data: [10n, 11n, 12n] },
        { name: 'score', data: [0.5, null, -1e-9] },
        { name: 'label', data: ['a\tb', null, 'ç'] },
        { name: 'ok', data: [true, false, null] },
        { name: 'local_at', data: [us('2024-03-01T08:15:00Z'), null, us('1969-12-31T23:59:59Z')] },
        { name: 'utc_at', data: [us('2024-03-01T08:15:00Z'), us('2024-03-02T00:00:00Z'), null] },
        { name: 'n32', data: [1, 2, 3] },
      ],
      schema: [
        { name: 'root', num_children: 7 },
        { name: 'event_id', type: 'INT64', repetition_type: 'REQUIRED' },
        { name: 'score', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
        { name: 'label', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        { name: 'ok', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
        {
          name: 'local_at',
          type: 'INT64',
          repetition_type: 'OPTIONAL',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
        },
        {
          name: 'utc_at',
          type: 'INT64',
          repetition_type: 'OPTIONAL',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
        },
        { name: 'n32', type: 'INT32', repetition_type: 'REQUIRED' },
      ],
    });
    const first = await loadTable(db.pool, pq, { table: 'events', key: 'event_id' });
    expect(first).toMatchObject({ created: true, rowsRead: 3, inserted: 3, alreadyPresent: 0 });
    expect(await columnTypes('events')).toEqual({
      event_id: 'bigint',
      score: 'double precision',
      label: 'text',
      ok: 'boolean',
      local_at: 'timestamp without time zone',
      utc_at: 'timestamp with time zone',
      n32: 'bigint',
    });
    const rows = await db.pool.query(
      `SELECT event_id, score, label, ok, local_at::text AS local_at,
              to_char(utc_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS utc_at
         FROM events ORDER BY event_id`,
    );
    expect(rows.rows).toEqual([
      {
        event_id: '10',
        score: 0.5,
        label: 'a\tb',
        ok: true,
        local_at: '2024-03-01 08:15:00.000123',
        utc_at: '2024-03-01T08:15:00.000123',
      },
      {
        event_id: '11',
        score: null,
        label: null,
        ok: false,
        local_at: null,
        utc_at: '2024-03-02T00:00:00.000123',
      },
      {
        event_id: '12',
        score: -1e-9,
        label: 'ç',
        ok: null,
        local_at: '1969-12-31 23:59:59.000123',
        utc_at: null,
      },
    ]);
    expect(await loadTable(db.pool, pq, { table: 'events', key: 'event_id' })).toMatchObject({
      created: false,
      inserted: 0,
      alreadyPresent: 3,
    });
  });

  it('refuses a key column the file lacks, and lists the columns it has', async () => {
    const csv = await file('nokey.csv', PENGUINS);
    await expect(loadTable(db.pool, csv, { table: 'nokey', key: 'id' })).rejects.toThrow(
      `${csv}: key column "id" is not in the file; its columns are: penguin_id, species, island, bill_length_mm, ` +
        'body_mass_g, sex, year',
    );
    expect(await tableExists('nokey')).toBe(false);
  });

  it('refuses duplicate and empty keys in the file, and writes nothing (not even the table)', async () => {
    const dup = await file('dup.csv', 'k,v\n1,a\n2,b\n1,c\n01,d\n2,e\n3,f\n');
    // "01" is text, so the key column is text and "01" a key of its own; 1 and 2 repeat.
    await expect(loadTable(db.pool, dup, { table: 'dups', key: 'k' })).rejects.toThrow(
      `${dup}: duplicate keys in the file: 2 value(s) of "k" appear more than once, e.g. 1 (2 rows), 2 (2 rows)`,
    );
    expect(await tableExists('dups')).toBe(false);
    const empty = await file('empty-key.csv', 'k,v\n1,a\n,b\n');
    await expect(loadTable(db.pool, empty, { table: 'dups', key: 'k' })).rejects.toThrow(
      `${empty}: key column "k" is empty in 1 row(s)`,
    );
    expect(await tableExists('dups')).toBe(false);
  });

  it('refuses a table that exists with other columns, other types or another primary key', async () => {
    await db.pool.query('CREATE TABLE other_cols (k bigint PRIMARY KEY, v text, extra text)');
    const kv = await file('kv.csv', 'k,v,w\n1,a,2\n');
    await expect(loadTable(db.pool, kv, { table: 'other_cols', key: 'k' })).rejects.toThrow(
      `${kv}: table "other_cols" exists with different columns: the file has w, which the table lacks; ` +
        'the table has extra, which the file lacks (table: k bigint, v text, extra text; ' +
        'file: k bigint, v text, w bigint)',
    );
    await db.pool.query('CREATE TABLE other_types (k bigint PRIMARY KEY, v boolean)');
    const kv2 = await file('kv2.csv', 'k,v\n1,1.5\n');
    await expect(loadTable(db.pool, kv2, { table: 'other_types', key: 'k' })).rejects.toThrow(
      `${kv2}: column "v" is boolean in table "other_types", but the file's values are double precision`,
    );
    await db.pool.query('CREATE TABLE other_pk (k bigint, v text PRIMARY KEY)');
    const kv3 = await file('kv3.csv', 'k,v\n1,a\n');
    await expect(loadTable(db.pool, kv3, { table: 'other_pk', key: 'k' })).rejects.toThrow(
      `${kv3}: table "other_pk" has primary key (v), not the key column "k"`,
    );
    expect((await db.pool.query('SELECT * FROM other_pk')).rowCount).toBe(0);

    // Whole numbers into an existing float column, and an all-empty column into any type, do load.
    await db.pool.query('CREATE TABLE widening (k bigint PRIMARY KEY, x double precision, t timestamp)');
    const ok = await file('widening.csv', 'k,x,t\n1,2,\n2,3,\n');
    expect(await loadTable(db.pool, ok, { table: 'widening', key: 'k' })).toMatchObject({ inserted: 2 });
  });

  it('names a value Postgres refuses, a bad table name and an unknown file type', async () => {
    const bad = await file('bad-date.csv', 'k,d\n1,2024-01-01\n2,2024-02-30\n');
    await expect(loadTable(db.pool, bad, { table: 'bad_dates', key: 'k' })).rejects.toThrow(
      `${bad}: a value cannot be loaded: date/time field value out of range: "2024-02-30" (data row 2, column d)`,
    );
    expect(await tableExists('bad_dates')).toBe(false);
    const csv = await file('ok.csv', 'k\n1\n');
    await expect(loadTable(db.pool, csv, { table: 'drop table x; --', key: 'k' })).rejects.toThrow(
      '--table: "drop table x; --" is not a valid table name',
    );
    const txt = await file('data.txt', 'k\n1\n');
    await expect(loadTable(db.pool, txt, { table: 't', key: 'k' })).rejects.toThrow(
      `${txt}: unsupported file type ".txt": expected .csv or .parquet`,
    );
  });

  it('quotes column names as they are in the file (case, spaces, keywords)', async () => {
    const csv = await file('names.csv', '"Key ID",select,"Mixed Case"\n1,a,b\n');
    expect(await loadTable(db.pool, csv, { table: 'odd_names', key: 'Key ID' })).toMatchObject({
      inserted: 1,
    });
    const r = await db.pool.query('SELECT "Key ID", "select", "Mixed Case" FROM odd_names');
    expect(r.rows).toEqual([{ 'Key ID': '1', select: 'a', 'Mixed Case': 'b' }]);
  });
});

/** Type mapping of `npm run load`: parquet schema elements, COPY text of values, which table types a file fits. */
import { describe, expect, it } from 'vitest';
import { copyEscape, loadsInto, microsToText, parquetColumnType, textKind } from './table-types.js';

describe('table types', () => {
  it('maps parquet schema elements to Postgres types, and names what it cannot load', () => {
    const ts = (isAdjustedToUTC: boolean) =>
      parquetColumnType({
        name: 't',
        type: 'INT64',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC, unit: 'NANOS' },
      });
    expect(ts(false)).toBe('timestamp');
    expect(ts(true)).toBe('timestamptz');
    expect(parquetColumnType({ name: 'd', type: 'INT32', converted_type: 'DATE' })).toBe('date');
    expect(parquetColumnType({ name: 'x', type: 'INT32', converted_type: 'DECIMAL', scale: 2 })).toBe(
      'numeric',
    );
    expect(parquetColumnType({ name: 'u', type: 'INT64', converted_type: 'UINT_64' })).toBe('numeric');
    expect(parquetColumnType({ name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8' })).toBe('text');
    expect(parquetColumnType({ name: 'f', type: 'FLOAT' })).toBe('double precision');
    expect(parquetColumnType({ name: 'b', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 4 })).toBe('bytea');
    expect(parquetColumnType({ name: 'l', num_children: 1, converted_type: 'LIST' })).toEqual({
      unsupported: 'a nested group (struct, list or map)',
    });
  });

  it('classifies CSV text: integers within bigint, codes with leading zeros, special floats', () => {
    expect(['42', '-9223372036854775808', '0'].map(textKind)).toEqual(['integer', 'integer', 'integer']);
    expect(textKind('9223372036854775808')).toBe('wide-integer');
    expect(['007', '00.5', ' 1'].map(textKind)).toEqual(['text', 'text', 'text']);
    expect(['1.5', '1e-9', '.5', 'NaN', '-Infinity'].map(textKind)).toEqual(Array(5).fill('float'));
  });

  it('writes timestamps with microseconds, before 1970 too, and escapes COPY specials', () => {
    const us = Date.parse('2024-03-01T08:15:00Z') * 1000 + 42;
    expect(microsToText(us, false)).toBe('2024-03-01T08:15:00.000042');
    expect(microsToText(us, true)).toBe('2024-03-01T08:15:00.000042+00');
    expect(microsToText(-1, false)).toBe('1969-12-31T23:59:59.999999');
    expect(copyEscape('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
  });

  it('lets a file column load into an existing column only when no value can change meaning', () => {
    const col = (type: 'bigint' | 'double precision' | 'timestamp', empty = false) => ({
      name: 'c',
      type,
      empty,
    });
    expect(loadsInto(col('bigint'), 'double precision')).toBe(true);
    expect(loadsInto(col('bigint'), 'text')).toBe(true);
    expect(loadsInto(col('double precision'), 'bigint')).toBe(false);
    expect(loadsInto(col('timestamp'), 'timestamp with time zone')).toBe(false);
    expect(loadsInto(col('timestamp', true), 'boolean')).toBe(true);
  });
});

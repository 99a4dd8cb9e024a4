/** Pure logic of the TLC shape: months, ride ids, column mapping, COPY encoding. */
import { describe, expect, it } from 'vitest';
import { MissingMonthError, NotTlcFileError } from './errors.js';
import { emptyRideBatch, encodeCopyText, formatMicros } from './ride-batch.js';
import {
  monthOfFile,
  monthPrefix,
  resolveTlcColumns,
  rideId,
  TLC_COLUMNS,
  RIDE_FIELDS,
} from './tlc-schema.js';

const us = (iso: string) => Date.parse(`${iso}Z`) * 1000;

describe('tlc-schema', () => {
  it('takes the month from *_tripdata_YYYY-MM.parquet, or requires it', () => {
    expect(monthOfFile('/x/green_tripdata_2021-01.parquet')).toBe('2021-01');
    expect(monthOfFile('yellow_tripdata_2023-12.parquet')).toBe('2023-12');
    expect(monthOfFile('rides.parquet', '2024-03')).toBe('2024-03');
    expect(() => monthOfFile('rides.parquet')).toThrow(MissingMonthError);
    expect(() => monthOfFile('green_tripdata_2021-13.parquet')).toThrow(/month: must be YYYY-MM/);
    expect(monthPrefix('2021-01')).toBe('2021/01');
    expect(rideId('2021/01', 0)).toBe('2021/01_0');
  });

  it('maps green and yellow columns, and names every missing one', () => {
    expect(resolveTlcColumns('f', Object.values(TLC_COLUMNS.green)).flavor).toBe('green');
    expect(resolveTlcColumns('f', ['x', ...Object.values(TLC_COLUMNS.yellow)]).flavor).toBe('yellow');
    const yellowMissing = RIDE_FIELDS.filter((f) => f !== 'totalAmount').map((f) => TLC_COLUMNS.yellow[f]);
    expect(() => resolveTlcColumns('y.parquet', yellowMissing)).toThrow(
      new NotTlcFileError('y.parquet', ['total_amount'], yellowMissing),
    );
  });

  it('formats naive microseconds without any time zone shift', () => {
    expect(formatMicros(us('2021-01-01T00:15:56'))).toBe('2021-01-01 00:15:56');
    expect(formatMicros(us('2009-01-01T23:59:59') + 250)).toBe('2009-01-01 23:59:59.000250');
    expect(formatMicros(us('1969-12-31T23:59:59'))).toBe('1969-12-31 23:59:59');
    expect(formatMicros(NaN)).toBeNull();
    expect(formatMicros(us('2021-01-01T00:00:00') * 10_000)).toBeNull(); // beyond year 9999
  });

  it('encodes COPY rows: skips null pickup/dropoff, NULLs values that do not fit, keeps bad values', () => {
    const b = emptyRideBatch(10, 3);
    b.pickup.set([us('2021-01-01T00:00:00'), NaN, us('2021-01-01T01:00:00')]);
    b.dropoff.set([us('2021-01-01T00:10:30'), us('2021-01-01T00:05:00'), us('2021-01-01T00:59:00')]);
    b.vendorId.set([2, 2, 1]);
    b.puLocationId.set([43, 1, NaN]);
    b.doLocationId.set([151, 2, 7]);
    b.passengerCount.set([1.5, 1, 70_000]);
    b.tripDistance.set([1.25, 1, -3]);
    b.fareAmount.set([5, 5, 5]);
    b.totalAmount.set([6.8, 6.8, NaN]);
    const { bytes, stored, skipped } = encodeCopyText(b, '2021/01', 'a\tb.parquet');
    expect({ stored, skipped }).toEqual({ stored: 2, skipped: 1 });
    expect(bytes.toString('utf8').split('\n')).toEqual([
      '2021/01_10\t2\t2021-01-01 00:00:00\t2021-01-01 00:10:30\t43\t151\t\\N\t1.25\t5\t6.8\t10.5\ta\\tb.parquet',
      '2021/01_12\t1\t2021-01-01 01:00:00\t2021-01-01 00:59:00\t\\N\t7\t\\N\t-3\t5\t\\N\t-1\ta\\tb.parquet',
      '',
    ]);
  });
});

/**
 * The TLC trip-record shape: which parquet columns feed which `rides` column (green `lpep_*`, yellow `tpep_*`),
 * the month of a file, and the ride_id convention `YYYY/MM_<0-based row index in the source file>`.
 */
import path from 'node:path';
import { DataOptionError, MissingMonthError, NotTlcFileError } from './errors.js';

/** The ride fields we keep, in `rides` column order (ride_id, actual_duration and source_file are derived). */
export const RIDE_FIELDS = [
  'vendorId',
  'pickup',
  'dropoff',
  'puLocationId',
  'doLocationId',
  'passengerCount',
  'tripDistance',
  'fareAmount',
  'totalAmount',
] as const;
export type RideField = (typeof RIDE_FIELDS)[number];

export type TlcFlavor = 'green' | 'yellow';

const SHARED: Omit<Record<RideField, string>, 'pickup' | 'dropoff'> = {
  vendorId: 'VendorID',
  puLocationId: 'PULocationID',
  doLocationId: 'DOLocationID',
  passengerCount: 'passenger_count',
  tripDistance: 'trip_distance',
  fareAmount: 'fare_amount',
  totalAmount: 'total_amount',
};

/** Parquet column name for each ride field, per flavor. */
export const TLC_COLUMNS: Record<TlcFlavor, Record<RideField, string>> = {
  green: { ...SHARED, pickup: 'lpep_pickup_datetime', dropoff: 'lpep_dropoff_datetime' },
  yellow: { ...SHARED, pickup: 'tpep_pickup_datetime', dropoff: 'tpep_dropoff_datetime' },
};

export interface TlcColumnMap {
  flavor: TlcFlavor;
  columns: Record<RideField, string>;
}

/** Maps a file's columns to ride fields, or throws NotTlcFileError naming every missing column. */
export function resolveTlcColumns(file: string, found: readonly string[]): TlcColumnMap {
  const present = new Set(found);
  const flavor: TlcFlavor =
    present.has('tpep_pickup_datetime') || present.has('tpep_dropoff_datetime') ? 'yellow' : 'green';
  const columns = TLC_COLUMNS[flavor];
  const missing = RIDE_FIELDS.map((f) => columns[f]).filter((name) => !present.has(name));
  if (missing.length > 0) throw new NotTlcFileError(file, missing, [...found]);
  return { flavor, columns };
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const FILE_MONTH = /_tripdata_(\d{4}-\d{2})\.parquet$/i;

/** Validates `YYYY-MM` and returns the ride_id prefix `YYYY/MM`. */
export function monthPrefix(month: string): string {
  const m = MONTH.exec(month);
  if (!m)
    throw new DataOptionError('month', `must be YYYY-MM with a month 01-12 (got ${JSON.stringify(month)})`);
  return `${m[1]}/${m[2]}`;
}

/** The `YYYY-MM` of a file: the explicit option wins, else the `*_tripdata_YYYY-MM.parquet` name. */
export function monthOfFile(file: string, explicit?: string): string {
  if (explicit !== undefined) {
    monthPrefix(explicit);
    return explicit;
  }
  const m = FILE_MONTH.exec(path.basename(file));
  if (!m?.[1]) throw new MissingMonthError(file);
  monthPrefix(m[1]);
  return m[1];
}

/** `YYYY/MM_<index>`: stable for a given file row, so re-ingest maps to the same keys. */
export function rideId(prefix: string, index: number): string {
  return `${prefix}_${index}`;
}

/** First instant (as naive-local microseconds since the epoch) of a `YYYY-MM` month and of the next one. */
export function monthBoundsMicros(month: string): { start: number; end: number } {
  const [y, m] = monthPrefix(month).split('/').map(Number);
  const year = y ?? 1970;
  const mon = (m ?? 1) - 1;
  return { start: Date.UTC(year, mon, 1) * 1000, end: Date.UTC(year, mon + 1, 1) * 1000 };
}

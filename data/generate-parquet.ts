/**
 * Writes generated rides as a parquet file with the TLC green schema (column names and physical types of the
 * 2021-2023 files, INT64 microsecond timestamps without time zone), one row group per generated batch, so
 * `npm run ingest` reads it back like a real file. Compression is SNAPPY (the writer's built-in codec).
 */
import { ParquetWriter, fileWriter, type SchemaElement } from 'hyparquet-writer';
import { generateRides, resolveGenerateOptions, type GenerateOptions } from './generate.js';
import type { GeneratedBatch } from './generated-batch.js';

type Kind = 'int64' | 'double' | 'timestamp' | 'flag' | 'null';
type Getter = (b: GeneratedBatch) => Float64Array | undefined;

// Column order and types of green_tripdata_2021-01 .. 2023-01.
const COLUMNS: [string, Kind, Getter][] = [
  ['VendorID', 'int64', (b) => b.vendorId],
  ['lpep_pickup_datetime', 'timestamp', (b) => b.pickup],
  ['lpep_dropoff_datetime', 'timestamp', (b) => b.dropoff],
  ['store_and_fwd_flag', 'flag', () => undefined],
  ['RatecodeID', 'double', (b) => b.ratecodeId],
  ['PULocationID', 'int64', (b) => b.puLocationId],
  ['DOLocationID', 'int64', (b) => b.doLocationId],
  ['passenger_count', 'double', (b) => b.passengerCount],
  ['trip_distance', 'double', (b) => b.tripDistance],
  ['fare_amount', 'double', (b) => b.fareAmount],
  ['extra', 'double', (b) => b.extra],
  ['mta_tax', 'double', (b) => b.mtaTax],
  ['tip_amount', 'double', (b) => b.tipAmount],
  ['tolls_amount', 'double', (b) => b.tollsAmount],
  ['ehail_fee', 'null', () => undefined],
  ['improvement_surcharge', 'double', (b) => b.improvementSurcharge],
  ['total_amount', 'double', (b) => b.totalAmount],
  ['payment_type', 'double', (b) => b.paymentType],
  ['trip_type', 'double', (b) => b.tripType],
  ['congestion_surcharge', 'double', (b) => b.congestionSurcharge],
];

function element(name: string, kind: Kind): SchemaElement {
  const base = { name, repetition_type: 'OPTIONAL' } as const;
  switch (kind) {
    case 'int64':
      return { ...base, type: 'INT64' };
    case 'double':
      return { ...base, type: 'DOUBLE' };
    case 'timestamp':
      return {
        ...base,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MICROS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
      };
    case 'flag':
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'null':
      return { ...base, type: 'INT32', logical_type: { type: 'NULL' } };
  }
}

export const GREEN_SCHEMA: SchemaElement[] = [
  { name: 'schema', repetition_type: 'REQUIRED', num_children: COLUMNS.length },
  ...COLUMNS.map(([name, kind]) => element(name, kind)),
];

function columnValues(kind: Kind, values: Float64Array | undefined, length: number): unknown[] {
  if (kind === 'flag') return new Array<string>(length).fill('N');
  if (kind === 'null' || !values) return new Array<null>(length).fill(null);
  const out = new Array<number | bigint | null>(length);
  const asBigInt = kind !== 'double';
  for (let i = 0; i < length; i++) {
    const v = values[i] ?? NaN;
    out[i] = Number.isNaN(v) ? null : asBigInt ? BigInt(v) : v;
  }
  return out;
}

export interface WriteSummary {
  path: string;
  rows: number;
  seconds: number;
}

/** Streams generated batches into `path` (overwritten); memory holds one batch at a time. */
export async function writeGeneratedParquet(path: string, options: GenerateOptions): Promise<WriteSummary> {
  const started = performance.now();
  const o = resolveGenerateOptions(options);
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: GREEN_SCHEMA,
    kvMetadata: [
      {
        key: 'generated_by',
        value: `ride-duration generate month=${o.month} seed=${o.seed} bad_share=${o.badShare}`,
      },
    ],
    createdBy: 'ride-duration generator (hyparquet-writer)',
  });
  for await (const batch of generateRides(o)) {
    await writer.write({
      columnData: COLUMNS.map(([name, kind, get]) => ({
        name,
        data: columnValues(kind, get(batch), batch.length),
      })),
      rowGroupSize: batch.length,
    });
  }
  await writer.finish();
  return { path, rows: o.rows, seconds: (performance.now() - started) / 1000 };
}

/**
 * Ingests one TLC parquet file into `rides`: checks the shape and the month before writing anything, then streams
 * batches through the staging loader in one transaction per file. `ride_id` = `YYYY/MM_<file row index>`.
 */
import path from 'node:path';
import type { Pool } from '../db/pool.js';
import { DataOptionError } from './errors.js';
import { loadRideBatches, type LoadResult } from './load-rides.js';
import { openParquet, readColumnBatches, type OpenedParquet } from './parquet-reader.js';
import { toFloat64, type RideBatch } from './ride-batch.js';
import { RIDE_FIELDS, monthOfFile, monthPrefix, resolveTlcColumns, type RideField } from './tlc-schema.js';

export interface IngestProgress {
  file: string;
  rowsRead: number;
  totalRows: number;
  skipped: number;
}

export interface IngestOptions {
  /** `YYYY-MM`; required when the file name has no `_tripdata_YYYY-MM` month. */
  month?: string;
  /** Rows per streamed batch (default 25,000). */
  batchSize?: number;
  onProgress?: (progress: IngestProgress) => void;
}

export interface IngestSummary extends LoadResult {
  file: string;
  sourceFile: string;
  month: string;
  totalRows: number;
  seconds: number;
  rowsPerSecond: number;
}

export const DEFAULT_BATCH_SIZE = 25_000;

async function* rideBatches(
  opened: OpenedParquet,
  columns: Record<RideField, string>,
  batchSize: number,
): AsyncGenerator<RideBatch> {
  const names = RIDE_FIELDS.map((f) => columns[f]);
  for await (const batch of readColumnBatches(opened, { columns: names, batchSize })) {
    const get = (field: RideField) => toFloat64(batch.columns.get(columns[field]) ?? []);
    yield {
      rowStart: batch.rowStart,
      length: batch.rowEnd - batch.rowStart,
      vendorId: get('vendorId'),
      pickup: get('pickup'),
      dropoff: get('dropoff'),
      puLocationId: get('puLocationId'),
      doLocationId: get('doLocationId'),
      passengerCount: get('passengerCount'),
      tripDistance: get('tripDistance'),
      fareAmount: get('fareAmount'),
      totalAmount: get('totalAmount'),
    };
  }
}

/** Loads one parquet file; idempotent (re-ingest inserts 0 and reports every row as already present). */
export async function ingestParquetFile(
  pool: Pool,
  file: string,
  options: IngestOptions = {},
): Promise<IngestSummary> {
  const started = performance.now();
  const opened = await openParquet(file);
  const { columns } = resolveTlcColumns(file, opened.columnNames);
  const month = monthOfFile(file, options.month);
  const sourceFile = path.basename(file);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DataOptionError('batch-size', `must be a whole number >= 1 (got ${batchSize})`);
  }
  const result = await loadRideBatches(pool, {
    batches: rideBatches(opened, columns, batchSize),
    monthPrefix: monthPrefix(month),
    sourceFile,
    onBatch: (p) => options.onProgress?.({ file, totalRows: opened.numRows, ...p }),
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    file,
    sourceFile,
    month,
    totalRows: opened.numRows,
    ...result,
    seconds,
    rowsPerSecond: seconds > 0 ? result.rowsRead / seconds : 0,
  };
}

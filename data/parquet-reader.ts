/**
 * Streams column batches out of a parquet file with hyparquet: row group by row group, and within a row group
 * by row ranges of `batchSize`, so memory holds one batch of the selected columns, never the whole file.
 */
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetSchema,
  parquetScan,
  type AsyncBuffer,
  type DecodedArray,
  type FileMetaData,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ParquetFileError } from './errors.js';

export interface OpenedParquet {
  path: string;
  file: AsyncBuffer;
  metadata: FileMetaData;
  numRows: number;
  /** Top-level column names, in file order. */
  columnNames: string[];
  /** Row count of each row group, in order. */
  rowGroups: number[];
}

/** Reads the footer only. A missing, truncated or non-parquet file throws ParquetFileError naming it. */
export async function openParquet(path: string): Promise<OpenedParquet> {
  try {
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    const columnNames = parquetSchema(metadata).children.map((c) => c.element.name);
    const rowGroups = metadata.row_groups.map((g) => Number(g.num_rows));
    return { path, file, metadata, numRows: Number(metadata.num_rows), columnNames, rowGroups };
  } catch (err) {
    throw new ParquetFileError(path, err);
  }
}

export interface ColumnBatch {
  /** 0-based file row index of the first row. */
  rowStart: number;
  /** Exclusive. */
  rowEnd: number;
  columns: Map<string, DecodedArray>;
}

// Timestamps become naive microseconds whatever the file's unit (exact as a number up to year 2255);
// hyparquet's default Date would imply UTC.
const parsers = {
  timestampFromMilliseconds: (ms: bigint) => Number(ms) * 1000,
  timestampFromMicroseconds: (us: bigint) => Number(us),
  timestampFromNanoseconds: (ns: bigint) => Number(ns / 1000n),
};

/** Yields batches of at most `batchSize` rows of the given columns, in file order. */
export async function* readColumnBatches(
  opened: OpenedParquet,
  options: { columns: string[]; batchSize: number },
): AsyncGenerator<ColumnBatch> {
  const { file, metadata } = opened;
  let scan: Awaited<ReturnType<typeof parquetScan>>;
  try {
    scan = await parquetScan({ file, metadata, columns: options.columns, compressors, parsers });
  } catch (err) {
    throw new ParquetFileError(opened.path, err);
  }
  let groupStart = 0;
  for (const groupRows of opened.rowGroups) {
    const groupEnd = groupStart + groupRows;
    for (let rowStart = groupStart; rowStart < groupEnd; rowStart += options.batchSize) {
      const rowEnd = Math.min(groupEnd, rowStart + options.batchSize);
      const columns = new Map<string, DecodedArray>();
      try {
        for (const column of options.columns) {
          const data = await scan.readColumn({ column, rowStart, rowEnd });
          if (data.length !== rowEnd - rowStart) {
            throw new Error(`column ${column} rows ${rowStart}-${rowEnd}: got ${data.length} values`);
          }
          columns.set(column, data);
        }
      } catch (err) {
        throw new ParquetFileError(opened.path, err);
      }
      yield { rowStart, rowEnd, columns };
    }
    groupStart = groupEnd;
  }
}

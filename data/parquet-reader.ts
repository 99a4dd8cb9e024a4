/**
 * Streams column batches out of a parquet file with hyparquet: row group by row group, and within a row group
 * by row ranges (READ_ROWS), so memory holds one range of the selected columns, never the whole file.
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

/**
 * Rows decoded per read. A row range costs a decompression of the pages it touches, so a small row group (a TLC
 * month is one group of 60-80k rows) is read once and sliced into batches; a bigger group is read in ranges of
 * this many rows, which bounds memory at about READ_ROWS x columns values.
 */
export const READ_ROWS = 131_072;

function slice(data: DecodedArray, start: number, end: number): DecodedArray {
  return Array.isArray(data) ? data.slice(start, end) : data.subarray(start, end);
}

/** Yields batches of at most `batchSize` rows of the given columns, in file order. */
export async function* readColumnBatches(
  opened: OpenedParquet,
  options: { columns: string[]; batchSize: number },
): AsyncGenerator<ColumnBatch> {
  const { file, metadata } = opened;
  const { columns, batchSize } = options;
  let scan: Awaited<ReturnType<typeof parquetScan>>;
  try {
    scan = await parquetScan({ file, metadata, columns, compressors, parsers });
  } catch (err) {
    throw new ParquetFileError(opened.path, err);
  }
  const readRows = Math.max(batchSize, READ_ROWS);
  let groupStart = 0;
  for (const groupRows of opened.rowGroups) {
    const groupEnd = groupStart + groupRows;
    for (let readStart = groupStart; readStart < groupEnd; readStart += readRows) {
      const readEnd = Math.min(groupEnd, readStart + readRows);
      const read = new Map<string, DecodedArray>();
      try {
        for (const column of columns) {
          const data = await scan.readColumn({ column, rowStart: readStart, rowEnd: readEnd });
          if (data.length !== readEnd - readStart) {
            throw new Error(`column ${column} rows ${readStart}-${readEnd}: got ${data.length} values`);
          }
          read.set(column, data);
        }
      } catch (err) {
        throw new ParquetFileError(opened.path, err);
      }
      for (let rowStart = readStart; rowStart < readEnd; rowStart += batchSize) {
        const rowEnd = Math.min(readEnd, rowStart + batchSize);
        const batch = new Map<string, DecodedArray>();
        for (const [column, data] of read)
          batch.set(column, slice(data, rowStart - readStart, rowEnd - readStart));
        yield { rowStart, rowEnd, columns: batch };
      }
    }
    groupStart = groupEnd;
  }
}

/** Generates rides straight into `rides` (COPY via the staging loader), idempotently, for tests and benchmarks. */
import type { Pool } from '../db/pool.js';
import { generateRides, resolveGenerateOptions, type GenerateOptions } from './generate.js';
import { loadRideBatches, type LoadProgress, type LoadResult } from './load-rides.js';
import { monthPrefix } from './tlc-schema.js';

export interface GenerateIntoDbOptions extends GenerateOptions {
  /** `source_file` of the rows; default `generated_<month>_seed<seed>`. */
  sourceFile?: string;
  onProgress?: (progress: LoadProgress & { totalRows: number }) => void;
}

export interface GenerateSummary extends LoadResult {
  sourceFile: string;
  month: string;
  seed: number;
  seconds: number;
  rowsPerSecond: number;
}

export function generatedSourceFile(month: string, seed: number): string {
  return `generated_${month}_seed${seed}`;
}

/**
 * Writes `rows` generated rides for `month` (ride_id `YYYY/MM_<index>`) in one transaction. Running it again
 * with the same options inserts nothing. Ids overlap a real file of the same month: those rows are kept as they
 * are and counted as already present, so use a month without real data for a clean synthetic partition.
 */
export async function generateIntoDb(pool: Pool, options: GenerateIntoDbOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const o = resolveGenerateOptions(options);
  const sourceFile = options.sourceFile ?? generatedSourceFile(o.month, o.seed);
  const result = await loadRideBatches(pool, {
    batches: generateRides(o),
    monthPrefix: monthPrefix(o.month),
    sourceFile,
    onBatch: (p) => options.onProgress?.({ ...p, totalRows: o.rows }),
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    ...result,
    sourceFile,
    month: o.month,
    seed: o.seed,
    seconds,
    rowsPerSecond: seconds > 0 ? result.rowsRead / seconds : 0,
  };
}

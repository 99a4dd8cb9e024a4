/** Typed errors of the data layer: each names the file it is about, so a CLI message needs no extra context. */

/** The parquet file lacks the columns a TLC trip record needs. Raised before anything is written. */
export class NotTlcFileError extends Error {
  constructor(
    readonly file: string,
    readonly missing: string[],
    readonly found: string[],
  ) {
    super(
      `${file}: not a TLC trip file: missing columns ${missing.join(', ')} (found: ${found.join(', ') || 'none'})`,
    );
    this.name = 'NotTlcFileError';
  }
}

/** The month (the YYYY/MM of every ride_id) can be taken neither from the file name nor from the options. */
export class MissingMonthError extends Error {
  constructor(readonly file: string) {
    super(
      `${file}: cannot tell the month of this file: its name does not end in _tripdata_YYYY-MM.parquet; ` +
        'pass --month YYYY-MM (or the month option)',
    );
    this.name = 'MissingMonthError';
  }
}

/** The file cannot be read as parquet (truncated, corrupt, unsupported encoding, unreadable). */
export class ParquetFileError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`${file}: cannot read parquet file: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'ParquetFileError';
  }
}

/** A command-line or option value is out of range. */
export class DataOptionError extends Error {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`${option}: ${reason}`);
    this.name = 'DataOptionError';
  }
}

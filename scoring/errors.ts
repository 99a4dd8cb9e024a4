/** Typed errors of the model core; the API maps them to HTTP (ModelNotFoundError -> 404). */

/** An unknown model name, version or alias. The message names the ref and lists what exists. */
export class ModelNotFoundError extends Error {
  constructor(
    readonly ref: string,
    readonly available: string[],
    detail?: string,
  ) {
    super(
      `Model "${ref}" not found${detail ? `: ${detail}` : ''}. ` +
        `Available: ${available.length > 0 ? available.join(', ') : '(no models loaded)'}`,
    );
    this.name = 'ModelNotFoundError';
  }
}

/** A model version that could not be loaded (bad card, checksum, graph mismatch); it is never served. */
export class ModelLoadError extends Error {
  constructor(
    readonly model: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${model}: ${reason}`, options);
    this.name = 'ModelLoadError';
  }
}

/** A bad alias request (invalid alias name, or a version that is not loaded). */
export class AliasError extends Error {
  constructor(
    readonly model: string,
    readonly alias: string,
    reason: string,
  ) {
    super(`Cannot set ${model}@${alias}: ${reason}`);
    this.name = 'AliasError';
  }
}

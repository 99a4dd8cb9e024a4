/** The error of `npm run load`: names the file (or table) and what is wrong, so the CLI prints it as is. */
export class TableLoadError extends Error {
  constructor(
    readonly subject: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${subject}: ${reason}`, options);
    this.name = 'TableLoadError';
  }
}

/**
 * Entry-point wrapper: runs `main`, prints configuration errors as one clear message (no stack), and turns any
 * other failure into a logged non-zero exit.
 */
import { ConfigError } from '../config.js';

export function runMain(main: () => Promise<void>): void {
  // Started by the dev supervisor with an IPC channel: when it goes away, stop as if told to.
  if (process.send) {
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    process.channel?.unref();
  }
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 1;
  });
}

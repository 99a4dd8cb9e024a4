/** Routes the Temporal Core SDK's own log lines through the project's pino logger. */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger.js';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

let installed = false;

/** Installs the runtime logger once per process (Temporal allows a single Runtime). */
export function installRuntimeLogger(logger: Logger, level: LogLevel = 'INFO'): void {
  if (installed) return;
  installed = true;
  const temporalLogger = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      temporalLogger[LEVELS[entry.level]](entry.meta ?? {}, entry.message);
    }),
  });
}

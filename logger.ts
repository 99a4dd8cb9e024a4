/**
 * Structured logging with pino: pretty for people in development, JSON lines everywhere else.
 * Secrets are redacted by path so a key never reaches a log line.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';

export type { Logger };

const redact = {
  paths: [
    'apiKey',
    '*.apiKey',
    'authorization',
    '*.authorization',
    'headers.authorization',
    '*.headers.authorization',
    'password',
    '*.password',
  ],
  censor: '[redacted]',
};

export function createLogger(config: Pick<Config, 'log'>, name?: string): Logger {
  const options = { level: config.log.level, redact, ...(name ? { name } : {}) };
  if (config.log.format === 'pretty') {
    return pino(
      options,
      pretty({ translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true }),
    );
  }
  return pino(options);
}

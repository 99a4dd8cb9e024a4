import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  VARIABLE_NAMES,
  loadConfig,
  maskUrl,
  requireDatabaseUrl,
  temporalAddress,
} from './config.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${Object.keys(env).join(', ')}`);
}

describe('loadConfig', () => {
  it('works with nothing set, every default in place and no warnings', () => {
    expect(loadConfig({})).toEqual({
      env: 'development',
      log: { level: 'info', format: 'pretty' },
      database: { url: undefined, poolSize: 10, embeddedPort: 54329 },
      temporal: {
        address: undefined,
        port: 7233,
        uiPort: 8233,
        uiUrl: 'http://localhost:8233',
        namespace: 'default',
        taskQueue: 'ride-duration',
        workflowBundle: undefined,
      },
      api: {
        host: '0.0.0.0',
        port: 3000,
        publicUrl: 'http://localhost:3000',
        apiKey: undefined,
        bodyLimitBytes: 8388608,
        maxBatchRecords: 10000,
        requireKeyForPredict: false,
        challengerThread: 'auto',
        challengerInlineMaxUs: 1000,
        canaryHoldMs: 2,
        shadowHoldMs: 20,
        routingDraw: 'turn',
        sseMaxConnections: 100,
        requestTimeoutMs: 30000,
      },
      batching: { enabled: true, maxSize: 64, maxDelayUs: 0, maxQueue: 20000, perModel: {} },
      deployments: { dir: 'deployments' },
      models: { dir: 'models', intraOpThreads: 1, predictionLog: false },
      notify: { webhookUrl: undefined },
      batch: {
        cron: '0 3 * * *',
        timeZone: 'UTC',
        catchupWindow: '1d',
        chunkSize: 50000,
        maxParallelChunks: 2,
        scoringThread: true,
      },
      stream: {
        canAfterEvents: 5000,
        dedupWindow: 10000,
        maxRun: 200,
        localActivities: true,
        maxAttempts: 5,
        rolloverGraceMs: 50,
      },
      paths: { data: '.data', tools: '.tools' },
      warnings: [],
    });
    expect(temporalAddress(loadConfig({}))).toBe('localhost:7233');
  });

  it('.env.example lists every variable, and its values are the defaults', () => {
    const example = Object.fromEntries(
      readFileSync(new URL('.env.example', import.meta.url), 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(Object.keys(example).sort()).toEqual([...VARIABLE_NAMES].sort());
    expect(loadConfig(example)).toEqual(loadConfig({}));
  });

  it('names the variable and the value when one is bad', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrowError(/PORT: must be a number \(got "abc"\)/);
  });

  it('takes the stream rollover grace in ms, 0 turning it off, and refuses anything outside 0-10000', () => {
    expect(loadConfig({}).stream.rolloverGraceMs).toBe(50);
    expect(loadConfig({ STREAM_ROLLOVER_GRACE_MS: '0' }).stream.rolloverGraceMs).toBe(0);
    expect(() => loadConfig({ STREAM_ROLLOVER_GRACE_MS: '-1' })).toThrowError(
      /STREAM_ROLLOVER_GRACE_MS: must be between 0 and 10000/,
    );
  });

  it('reports every bad variable at once', () => {
    const error = configError({
      PORT: '70000',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      TEMPORAL_ADDRESS: 'nope',
      API_KEY: 'short',
      DYNAMIC_BATCH_MODEL_OVERRIDES: '{"ride-duration@2": {"maxSize": 0}}',
    });
    const variables = error.issues.map((i) => i.variable).sort();
    expect(variables).toEqual([
      'API_KEY',
      'DATABASE_URL',
      'DYNAMIC_BATCH_MODEL_OVERRIDES',
      'LOG_LEVEL',
      'PORT',
      'TEMPORAL_ADDRESS',
    ]);
    expect(error.message).toContain('DYNAMIC_BATCH_MODEL_OVERRIDES: ride-duration@2.maxSize: must be > 0');
    expect(error.message).toContain('See .env.example');
  });

  it('logs JSON outside development and treats empty strings as unset', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: 'temporal:7233',
    });
    expect(config.log.format).toBe('json');
    expect(config.database.url).toBeUndefined();
    expect(temporalAddress(config)).toBe('temporal:7233');
  });

  it('requires DATABASE_URL for production entry points', () => {
    expect(() => requireDatabaseUrl(loadConfig({}))).toThrowError(/DATABASE_URL: is required/);
    expect(requireDatabaseUrl(loadConfig({ DATABASE_URL: 'postgres://u:p@h:5432/d' }))).toBe(
      'postgres://u:p@h:5432/d',
    );
  });
});

describe('secrets in configuration errors', () => {
  it('says what is wrong with API_KEY without its value', () => {
    const { message } = configError({ API_KEY: 'hunter2-short' });
    expect(message).toContain('API_KEY: must be at least 16 characters');
    expect(message).not.toContain('hunter2');
  });

  it('shows a bad DATABASE_URL with its password and query string masked', () => {
    const { message } = configError({
      DATABASE_URL: 'mysql://rides:s3cr3t-pw@db:5432/rides?password=other-pw',
    });
    expect(message).toContain(
      'DATABASE_URL: must be a postgres:// or postgresql:// URL (got "mysql://rides:***@db:5432/rides?***")',
    );
    expect(message).not.toContain('s3cr3t-pw');
    expect(message).not.toContain('other-pw');
  });

  it('shows nothing of a DATABASE_URL that is not a URL at all (a pasted password, say)', () => {
    const { message } = configError({ DATABASE_URL: 'correct-horse-battery' });
    expect(message).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL (value not shown');
    expect(message).not.toContain('correct-horse');
  });

  it('never shows the webhook URL, whose path is often its token', () => {
    const { message } = configError({ NOTIFY_WEBHOOK_URL: 'hooks.example.com/T000/B000/XXXXsecret' });
    expect(message).toContain('NOTIFY_WEBHOOK_URL: must be a URL (value not shown');
    expect(message).not.toContain('XXXXsecret');
  });

  it('masks only what is secret in a URL', () => {
    expect(maskUrl('postgres://u:p@h:1/d')).toBe('postgres://u:***@h:1/d');
    expect(maskUrl('postgres://u@h/d')).toBe('postgres://u@h/d');
    expect(maskUrl('not a url')).toBeUndefined();
  });
});

describe('dynamic batching variables (DYNAMIC_BATCH_*)', () => {
  it('reads the new names', () => {
    const config = loadConfig({
      DYNAMIC_BATCH_MAX_SIZE: '8',
      DYNAMIC_BATCH_MAX_DELAY_US: '500',
      DYNAMIC_BATCH_MAX_QUEUE: '3',
      DYNAMIC_BATCH_MODEL_OVERRIDES: '{"ride-duration@1": {"maxSize": 16}}',
    });
    expect(config.batching).toEqual({
      enabled: true,
      maxSize: 8,
      maxDelayUs: 500,
      maxQueue: 3,
      perModel: { 'ride-duration@1': { maxSize: 16 } },
    });
    expect(config.warnings).toEqual([]);
  });

  it('still accepts the old BATCH_MAX_* names, with one warning each naming the new one', () => {
    const config = loadConfig({ BATCH_MAX_SIZE: '8', BATCH_MAX_QUEUE: '3' });
    expect(config.batching).toMatchObject({ maxSize: 8, maxQueue: 3 });
    expect(config.warnings).toEqual([
      'BATCH_MAX_SIZE is deprecated; rename it to DYNAMIC_BATCH_MAX_SIZE (same meaning)',
      'BATCH_MAX_QUEUE is deprecated; rename it to DYNAMIC_BATCH_MAX_QUEUE (same meaning)',
    ]);
  });

  it('prefers the new name when both are set, and says the old one is ignored', () => {
    const config = loadConfig({ BATCH_MAX_DELAY_US: '9', DYNAMIC_BATCH_MAX_DELAY_US: '1' });
    expect(config.batching.maxDelayUs).toBe(1);
    expect(config.warnings).toEqual([
      'BATCH_MAX_DELAY_US is ignored because DYNAMIC_BATCH_MAX_DELAY_US is set; remove BATCH_MAX_DELAY_US',
    ]);
  });

  it('names the old variable the user set when its value is bad', () => {
    expect(() => loadConfig({ BATCH_MODEL_OVERRIDES: '{' })).toThrowError(
      /^ {2}- BATCH_MODEL_OVERRIDES: must be JSON/m,
    );
  });

  it('leaves the batch mode BATCH_* settings alone', () => {
    const config = loadConfig({
      BATCH_CHUNK_SIZE: '7',
      BATCH_MAX_PARALLEL_CHUNKS: '3',
      BATCH_SCORING_THREAD: 'off',
    });
    expect(config.batch).toMatchObject({ chunkSize: 7, maxParallelChunks: 3, scoringThread: false });
    expect(config.warnings).toEqual([]);
  });
});

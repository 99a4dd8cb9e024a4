import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, requireDatabaseUrl, temporalAddress } from './config.js';

describe('loadConfig', () => {
  it('works with nothing set', () => {
    const config = loadConfig({});
    expect(config.api.port).toBe(3000);
    expect(config.temporal).toMatchObject({
      port: 7233,
      uiPort: 8233,
      namespace: 'default',
      taskQueue: 'ride-duration',
    });
    expect(temporalAddress(config)).toBe('localhost:7233');
    expect(config.log.format).toBe('pretty');
    expect(config.database.url).toBeUndefined();
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
    let error: unknown;
    try {
      loadConfig({
        PORT: '70000',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://x',
        TEMPORAL_ADDRESS: 'nope',
        API_KEY: 'short',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).issues.map((i) => i.variable).sort();
    expect(variables).toEqual(['API_KEY', 'DATABASE_URL', 'LOG_LEVEL', 'PORT', 'TEMPORAL_ADDRESS']);
    expect((error as ConfigError).message).toContain('See .env.example');
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

import { describe, expect, it } from 'vitest';
import { wallClock, zonedToUtc } from './wall-clock.js';

describe('wall clock', () => {
  it('formats an instant as naive local time in a zone, across DST', () => {
    expect(wallClock(new Date('2021-02-01T13:15:09Z'), 'America/New_York')).toBe('2021-02-01T08:15:09');
    expect(wallClock(new Date('2021-07-01T13:15:09Z'), 'America/New_York')).toBe('2021-07-01T09:15:09');
    expect(wallClock(new Date('2021-07-01T00:00:00Z'), 'UTC')).toBe('2021-07-01T00:00:00');
  });

  it('inverts wallClock, including the day DST starts', () => {
    expect(zonedToUtc('2021-02-01T08:15:09', 'America/New_York').toISOString()).toBe(
      '2021-02-01T13:15:09.000Z',
    );
    expect(zonedToUtc('2021-03-14T12:00:00', 'America/New_York').toISOString()).toBe(
      '2021-03-14T16:00:00.000Z',
    );
    expect(zonedToUtc('2024-03-01T03:00:00', 'Europe/Berlin').toISOString()).toBe('2024-03-01T02:00:00.000Z');
  });
});

/** The summaries bench:batch prints: median and range of the runs, and the interleaving of sides per round. */
import { describe, expect, it } from 'vitest';
import { formatSpread, roundOrder, spread } from './batch-stats.js';

describe('spread', () => {
  it('reports the middle run of an odd count, not the best, with the range', () => {
    expect(spread([9.1, 6.2, 7.4])).toEqual({ runs: 3, median: 7.4, min: 6.2, max: 9.1 });
  });

  it('averages the middle two of an even count and ignores NaN runs', () => {
    expect(spread([4, NaN, 1, 3, 2])).toEqual({ runs: 4, median: 2.5, min: 1, max: 4 });
  });

  it('has no figures for no runs, and prints a dash', () => {
    const s = spread([]);
    expect(s.runs).toBe(0);
    expect(s.median).toBeNaN();
    expect(formatSpread(s)).toBe('-');
  });

  it('prints median [min-max], or the value alone for one run', () => {
    expect(formatSpread(spread([6.08, 7.13, 6.39]))).toBe('6.39 [6.08-7.13]');
    expect(formatSpread(spread([5.5]), 1)).toBe('5.5');
  });
});

describe('roundOrder', () => {
  it('rotates the sides so each one runs first in turn', () => {
    const sides = ['workflow', 'floor', 'pandas', 'numpy'];
    expect(roundOrder(sides, 0)).toEqual(sides);
    expect(roundOrder(sides, 1)).toEqual(['floor', 'pandas', 'numpy', 'workflow']);
    expect(roundOrder(sides, 4)).toEqual(sides);
    expect(roundOrder([], 3)).toEqual([]);
  });
});

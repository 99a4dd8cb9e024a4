/** The Online page's reading of /metrics: per-route figures and the latency histogram of the scoring routes. */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../api/metrics.js';
import {
  isScoringRoute,
  latencyHistogram,
  parseMetrics,
  quantileBound,
  routeFigures,
} from '../../ui/src/metrics.js';

describe('dashboard metrics parsing', () => {
  it("reads the API's own registry: requests per route, and scoring latency as per-bucket counts", async () => {
    const m = createMetrics();
    const seen = (route: string, status: string, seconds: number) => {
      m.requests.inc({ method: 'POST', route, status });
      m.latency.observe({ method: 'POST', route, status }, seconds);
    };
    seen('/predict', '200', 0.003);
    seen('/predict', '200', 0.003);
    seen('/predict', '500', 0.2);
    seen('/v2/models/:name/infer', '200', 0.0004);
    seen('/streams/:streamId/predictions', '200', 3); // an SSE feed, not a scoring route
    const samples = parseMetrics(await m.registry.metrics());

    const predict = routeFigures(samples).find((r) => r.route === '/predict');
    expect(predict).toMatchObject({ method: 'POST', requests: 3, errors: 1 });
    expect(predict?.seconds).toBeCloseTo(0.206, 6);

    expect(
      ['/predict', '/predict/batch', '/models/:name/predict', '/v2/models/:name/infer'].every(isScoringRoute),
    ).toBe(true);
    expect(isScoringRoute('/streams/:streamId/predictions')).toBe(false);

    const h = latencyHistogram(samples, isScoringRoute);
    expect(h.bounds.at(-1)).toBe(Infinity);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(h.counts[h.bounds.indexOf(0.0005)]).toBe(1);
    expect(h.counts[h.bounds.indexOf(0.005)]).toBe(2);
    expect(h.counts[h.bounds.indexOf(0.25)]).toBe(1);
    expect(quantileBound(h, 0.5)).toBe(0.005);
    expect(quantileBound(h, 0.99)).toBe(0.25);
    expect(quantileBound(latencyHistogram([], isScoringRoute), 0.5)).toBeNull();
  });
});

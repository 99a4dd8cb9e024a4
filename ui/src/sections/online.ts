/**
 * Online: requests per second and the latency histogram of the scoring routes, from the figures `/metrics` already
 * keeps. Counters have no NOTIFY, so the API samples its registry and pushes a snapshot every 2 s to the pages that
 * follow GET /ui/api/online/events (and to nobody when none does); the page never polls.
 */
import { followSse } from '../api.js';
import { chart } from '../chart.js';
import { figures, fill, fmt, h, panel, table } from '../dom.js';
import {
  bucketLabel,
  isScoringRoute,
  latencyHistogram,
  quantileBound,
  routeFigures,
  type RouteFigures,
} from '../metrics.js';
import type { MetricsSnapshot } from './shapes.js';
import type { Section } from './types.js';

const HISTORY = 120;

export const online: Section = {
  id: 'online',
  path: '/ui/online',
  title: 'Online',
  render(ctx) {
    const summary = h('div', { id: 'online-summary' }, h('p', {}, 'Waiting for the first figures…'));
    const live = h('p', { class: 'live', id: 'online-live' }, 'Live updates: connecting…');
    const routesSlot = h('div', { id: 'online-routes' });
    const rate = chart({
      id: 'online-rate',
      caption: 'Scoring requests per second (pushed every 2 s while this page is open)',
      series: [{ label: 'req/s', color: '#1f5fbf' }],
      yLabel: 'req/s',
    });
    const histogram = chart({
      id: 'online-latency',
      caption: 'Latency of scoring requests since the API started',
      series: [{ label: 'requests', color: '#2e7d32', bars: true }],
      yLabel: 'requests',
      xLabels: [],
    });
    ctx.signal.addEventListener('abort', () => {
      rate.destroy();
      histogram.destroy();
    });
    fill(
      ctx.root,
      h('h1', {}, 'Online'),
      live,
      panel('online-now', 'Scoring routes', summary, rate.figure),
      panel('online-histogram', 'Latency', histogram.figure),
      panel('online-all', 'Every route', routesSlot),
    );

    const times: number[] = [];
    const rates: (number | null)[] = [];
    let previous: { at: number; requests: number } | undefined;
    const show = ({ at, samples }: MetricsSnapshot) => {
      const routes = routeFigures(samples);
      const scoring = routes.filter((r) => isScoringRoute(r.route));
      const requests = scoring.reduce((a, r) => a + r.requests, 0);
      const now = at / 1000;
      const perSecond = previous ? (requests - previous.requests) / (now - previous.at) : null;
      previous = { at: now, requests };
      times.push(now);
      rates.push(perSecond);
      if (times.length > HISTORY) {
        times.shift();
        rates.shift();
      }
      const hist = latencyHistogram(samples, isScoringRoute);
      const p50 = quantileBound(hist, 0.5);
      const p99 = quantileBound(hist, 0.99);
      fill(
        summary,
        figures([
          ['Scoring requests', fmt.int(requests)],
          ['Now', perSecond === null ? 'measuring…' : `${fmt.num(perSecond)} req/s`],
          ['p50 latency ≤', p50 === null ? '–' : bucketLabel(p50).replace('≤ ', '')],
          ['p99 latency ≤', p99 === null ? '–' : bucketLabel(p99).replace('≤ ', '')],
        ]),
      );
      // One sample has no rate yet: the chart starts with the second.
      if (times.length > 1)
        rate.setData([times.slice(), rates.slice()], `${fmt.num(perSecond ?? 0)} requests per second now`);
      const labels = hist.bounds.map(bucketLabel);
      histogram.setData(
        [hist.bounds.map((_, i) => i), hist.counts],
        hist.counts.map((c, i) => `${labels[i] ?? ''}: ${c}`).join(', ') || 'no request yet',
        labels,
      );
      fill(
        routesSlot,
        table<RouteFigures>(
          'Requests per route since the API started',
          [
            { label: 'Method', cell: (r) => r.method },
            { label: 'Route', cell: (r) => r.route },
            { label: 'Requests', cell: (r) => fmt.int(r.requests), numeric: true },
            { label: '5xx', cell: (r) => fmt.int(r.errors), numeric: true },
            {
              label: 'Mean latency',
              cell: (r) => fmt.ms(r.requests ? (r.seconds / r.requests) * 1000 : null),
              numeric: true,
            },
          ],
          routes,
          'No request yet.',
        ),
      );
    };
    void followSse(
      '/ui/api/online/events',
      (m) => {
        if (m.event === 'metrics') show(JSON.parse(m.data) as MetricsSnapshot);
      },
      ctx.signal,
      (state) =>
        (live.textContent =
          state === 'open'
            ? 'Live updates: on (the API pushes its figures every 2 s)'
            : 'Live updates: reconnecting…'),
    );
    return Promise.resolve();
  },
};

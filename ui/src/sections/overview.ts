/** The overview: one card per domain with its headline figures and a link to its section. */
import { getJson, getText } from '../api.js';
import { fill, fmt, h, panel, statusBadge } from '../dom.js';
import { parseMetrics, routeFigures, isScoringRoute } from '../metrics.js';
import type { BatchRun, Deployment, MonitoringHeadline, StreamItem } from './shapes.js';
import type { Section } from './types.js';

type Card = { id: string; title: string; href: string; body: () => Promise<HTMLElement> };

const CARDS: Card[] = [
  {
    id: 'ov-deployments',
    title: 'Deployments',
    href: '/ui/deployments',
    body: async () => {
      const { deployments } = await getJson<{ deployments: Deployment[] }>('/deployments');
      const ready = deployments.filter((d) => d.status === 'ready').length;
      return h(
        'div',
        {},
        h('p', { class: 'big' }, `${ready} of ${deployments.length} ready`),
        h(
          'ul',
          { class: 'plain' },
          ...deployments.map((d) => h('li', {}, `${d.name} `, statusBadge(d.status))),
        ),
      );
    },
  },
  {
    id: 'ov-batch',
    title: 'Batch runs',
    href: '/ui/batch',
    body: async () => {
      const { runs } = await getJson<{ runs: BatchRun[] }>('/ui/api/batch-runs?limit=50');
      const last = runs[0];
      return h(
        'div',
        {},
        h('p', { class: 'big' }, fmt.count(runs.length, 'run', runs.length === 50)),
        last
          ? h(
              'p',
              {},
              'Latest: ',
              last.partition,
              ' ',
              statusBadge(last.status),
              ` ${fmt.int(last.rowsScored)} rows`,
            )
          : h('p', {}, 'No run yet.'),
      );
    },
  },
  {
    id: 'ov-streams',
    title: 'Streams',
    href: '/ui/streams',
    body: async () => {
      const { streams } = await getJson<{ streams: StreamItem[] }>('/ui/api/streams');
      const predictions = streams.reduce((a, s) => a + s.predictions, 0);
      const pending = streams.reduce((a, s) => a + s.pendingDeadLetters, 0);
      return h(
        'div',
        {},
        h('p', { class: 'big' }, fmt.count(streams.length, 'stream')),
        h('p', {}, `${fmt.int(predictions)} predictions, ${fmt.int(pending)} dead letters pending`),
      );
    },
  },
  {
    id: 'ov-online',
    title: 'Online',
    href: '/ui/online',
    body: async () => {
      const routes = routeFigures(parseMetrics(await getText('/metrics'))).filter((r) =>
        isScoringRoute(r.route),
      );
      const requests = routes.reduce((a, r) => a + r.requests, 0);
      return h(
        'div',
        {},
        h('p', { class: 'big' }, `${fmt.int(requests)} scoring requests`),
        h('p', {}, 'since the API started'),
      );
    },
  },
  {
    id: 'ov-monitoring',
    title: 'Monitoring',
    href: '/ui/monitoring',
    body: async () => {
      const { deployments } = await getJson<{ deployments: MonitoringHeadline[] }>(
        '/ui/api/monitoring/summary',
      );
      const recent = deployments.reduce((a, d) => a + d.alerts.recent, 0);
      const all = deployments.reduce((a, d) => a + d.alerts.count, 0);
      return h(
        'div',
        {},
        h(
          'p',
          { class: 'big' },
          recent === 0 ? 'No alert this week' : `${recent} alert${recent === 1 ? '' : 's'} this week`,
        ),
        all > recent ? h('p', {}, `${fmt.int(all)} in all`) : null,
        h('ul', { class: 'plain monitoring-list' }, ...deployments.map(monitoringLine)),
      );
    },
  },
];

/** One deployment: its latest drift window, latest alert and latest labelled performance, in words. */
function monitoringLine(d: MonitoringHeadline): HTMLElement {
  const w = d.drift;
  const drift = w
    ? `drift ${w.from.slice(0, 10)}${w.mode ? ` (${w.mode})` : ''}: ` +
      (w.drifted.length > 0
        ? `${w.drifted.join(', ')} drifted`
        : `no drift, largest PSI ${fmt.num(w.worst?.psi)}${w.worst ? ` (${w.worst.field})` : ''}`)
    : 'no drift window yet';
  const label = d.performance?.metric === 'accuracy' ? 'accuracy' : 'MAE';
  const perf =
    d.performance && d.performance.rows.length > 0
      ? d.performance.rows
          .map((r) => `${label} ${fmt.num(r.value)} ${r.mode} v${r.version} on ${r.window.slice(0, 10)}`)
          .join('; ')
      : 'no labelled prediction lately';
  const alert = d.alerts.latest
    ? `latest alert ${d.alerts.latest.kind} v${d.alerts.latest.version} ${d.alerts.latest.from.slice(0, 10)}`
    : null;
  return h(
    'li',
    {},
    h('strong', {}, d.deployment),
    ': ',
    [drift, alert, perf].filter((x) => x !== null).join(' · '),
    d.problem ? h('span', { class: 'error' }, ` (${d.problem})`) : null,
  );
}

export const overview: Section = {
  id: 'overview',
  path: '/ui',
  title: 'Overview',
  async render({ root }) {
    const grid = h('div', { class: 'cards' });
    fill(root, h('h1', {}, 'Overview'), grid);
    await Promise.all(
      CARDS.map(async (card) => {
        const slot = h('div', { class: 'card-body' }, h('p', {}, 'Loading…'));
        grid.append(
          panel(
            card.id,
            card.title,
            slot,
            h('a', { href: card.href, class: 'more' }, `Open ${card.title.toLowerCase()}`),
          ),
        );
        try {
          fill(slot, await card.body());
        } catch (err) {
          fill(slot, h('p', { class: 'error' }, `Could not load: ${(err as Error).message}`));
        }
      }),
    );
  },
};

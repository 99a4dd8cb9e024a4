/**
 * Monitoring (extension point): drift per feature over time, performance per version over time, and alerts, once
 * the monitoring issue gives them an API. Until then the page says so.
 */
import { fill, h, panel } from '../dom.js';
import type { Section } from './types.js';

export const monitoring: Section = {
  id: 'monitoring',
  path: '/ui/monitoring',
  title: 'Monitoring',
  render({ root }) {
    fill(
      root,
      h('h1', {}, 'Monitoring'),
      panel(
        'monitoring-soon',
        'Drift, performance and alerts',
        h('p', { class: 'empty' }, 'Monitoring is not available yet: the API has no monitoring endpoints.'),
        h(
          'p',
          {},
          'Batch error metrics per run are on the ',
          h('a', { href: '/ui/batch' }, 'Batch runs'),
          ' page.',
        ),
      ),
    );
    return Promise.resolve();
  },
};

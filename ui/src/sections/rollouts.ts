/**
 * Rollouts (extension point): per deployment, its routing state (champion, challenger, canary/shadow shares), the
 * current rollout's steps and gates, and the routing history as a timeline. Until the rollout API answers
 * (GET /deployments/{name}/routing, /rollouts/{id}, /history), each part says it is not available.
 */
import { ApiError, getJson } from '../api.js';
import { fill, h, panel } from '../dom.js';
import type { Deployment } from './shapes.js';
import type { Section } from './types.js';

/** The JSON of `path`, or null when the endpoint does not exist yet (404). */
async function optional(path: string, signal: AbortSignal): Promise<unknown> {
  try {
    return await getJson<unknown>(path, { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

const notAvailable = (what: string, path: string) =>
  h('p', { class: 'empty' }, `${what}: not available (GET ${path} answered 404).`);

// Renders the raw answer until the rollout issue defines its shape; replace with the routing view then.
const raw = (value: unknown) => h('pre', { class: 'raw' }, JSON.stringify(value, null, 2));

export const rollouts: Section = {
  id: 'rollouts',
  path: '/ui/rollouts',
  title: 'Rollouts',
  async render({ root, signal }) {
    const { deployments } = await getJson<{ deployments: Deployment[] }>('/deployments', { signal });
    const parts = await Promise.all(
      deployments.map(async (d) => {
        const base = `/deployments/${encodeURIComponent(d.name)}`;
        const [routing, history] = await Promise.all([
          optional(`${base}/routing`, signal),
          optional(`${base}/history`, signal),
        ]);
        return h(
          'article',
          { class: 'deployment', 'aria-labelledby': `ro-${d.name}` },
          h('h3', { id: `ro-${d.name}` }, d.name),
          h('h4', {}, 'Routing state'),
          routing === null ? notAvailable('Routing state', `${base}/routing`) : raw(routing),
          h('h4', {}, 'Routing history'),
          history === null ? notAvailable('Routing history', `${base}/history`) : raw(history),
        );
      }),
    );
    fill(
      root,
      h('h1', {}, 'Rollouts'),
      panel('rollout-list', 'Routing per deployment', h('div', { class: 'cards' }, ...parts)),
    );
  },
};

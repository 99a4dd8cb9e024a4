/** Deployments: each deployment file's state, and the model repository (versions, cards, aliases) with the alias action. */
import { getJson, postJson } from '../api.js';
import { confirmAction } from '../confirm.js';
import { fill, h, panel, statusBadge, table, toast } from '../dom.js';
import type { Deployment, ModelList, ModelVersion } from './shapes.js';
import type { Section } from './types.js';

function deploymentCard(d: Deployment): HTMLElement {
  return h(
    'article',
    { class: 'deployment', 'aria-labelledby': `dep-${d.name}` },
    h('h3', { id: `dep-${d.name}` }, d.name, ' ', statusBadge(d.status)),
    h(
      'dl',
      { class: 'figures' },
      h('div', {}, h('dt', {}, 'Model'), h('dd', {}, d.model)),
      h('div', {}, h('dt', {}, 'Modes'), h('dd', {}, d.modes.join(', ') || 'none')),
      d.batch ? h('div', {}, h('dt', {}, 'Batch'), h('dd', {}, `${d.batch.source} → ${d.batch.sink}`)) : null,
      d.batch?.schedule ? h('div', {}, h('dt', {}, 'Schedule'), h('dd', {}, d.batch.schedule)) : null,
      h('div', {}, h('dt', {}, 'File'), h('dd', {}, d.file)),
    ),
    d.waiting.length
      ? h('ul', { class: 'notes' }, ...d.waiting.map((w) => h('li', {}, `Waiting: ${w}`)))
      : null,
    d.problems.length ? h('ul', { class: 'problems' }, ...d.problems.map((p) => h('li', {}, p))) : null,
  );
}

function cardDetails(m: ModelVersion): HTMLElement {
  return h(
    'details',
    {},
    h('summary', {}, `Card of ${m.ref}`),
    h(
      'dl',
      { class: 'figures' },
      h('div', {}, h('dt', {}, 'Fields'), h('dd', {}, m.fields.join(', '))),
      h('div', {}, h('dt', {}, 'Graph inputs'), h('dd', {}, m.inputs.join(', '))),
      h('div', {}, h('dt', {}, 'Outputs'), h('dd', {}, m.outputs.join(', '))),
      m.metrics !== undefined
        ? h('div', {}, h('dt', {}, 'Metrics'), h('dd', {}, h('code', {}, JSON.stringify(m.metrics))))
        : null,
    ),
  );
}

/** Points an alias at a version: the model's versions to choose from, then a confirmation. */
function aliasForm(list: ModelList, reload: () => Promise<void>): HTMLElement {
  const names = [...new Set(list.models.map((m) => m.name))];
  const model = h(
    'select',
    { id: 'alias-model', name: 'model' },
    ...names.map((n) => h('option', { value: n }, n)),
  );
  const version = h('select', { id: 'alias-version', name: 'version' });
  const alias = h('input', {
    id: 'alias-name',
    name: 'alias',
    value: 'production',
    required: true,
    autocomplete: 'off',
  });
  const versions = () =>
    fill(
      version,
      ...list.models
        .filter((m) => m.name === model.value)
        .map((m) => h('option', { value: m.version }, m.version)),
    );
  model.addEventListener('change', versions);
  versions();
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': 'Set an alias' },
    h('div', { class: 'field' }, h('label', { for: 'alias-model' }, 'Model'), model),
    h('div', { class: 'field' }, h('label', { for: 'alias-name' }, 'Alias'), alias),
    h('div', { class: 'field' }, h('label', { for: 'alias-version' }, 'Version'), version),
    h('button', { type: 'submit', class: 'primary' }, 'Set alias…'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const target = `${model.value}@${alias.value}`;
      const ok = await confirmAction({
        title: 'Move an alias',
        body: `Point ${target} at version ${version.value}? Every mode that resolves ${target} switches to it.`,
        action: 'Move alias',
      });
      if (ok === null) return;
      try {
        const r = await postJson<{ previous: string | null }>(
          `/models/${encodeURIComponent(model.value)}/aliases/${encodeURIComponent(alias.value)}`,
          { version: version.value },
        );
        toast(`${target} now points at version ${version.value} (was ${r.previous ?? 'unset'}).`);
        await reload();
      } catch (err) {
        toast(`Not moved: ${(err as Error).message}`);
      }
    })();
  });
  return form;
}

export const deployments: Section = {
  id: 'deployments',
  path: '/ui/deployments',
  title: 'Deployments',
  async render({ root }) {
    const load = async () => {
      const [deps, models] = await Promise.all([
        getJson<{ deployments: Deployment[] }>('/deployments'),
        getJson<ModelList>('/models'),
      ]);
      fill(
        root,
        h('h1', {}, 'Deployments'),
        panel(
          'deployment-list',
          'Deployment files',
          h('div', { class: 'cards' }, ...deps.deployments.map(deploymentCard)),
        ),
        panel(
          'model-versions',
          'Model versions',
          table<ModelVersion>(
            'Loaded model versions and their aliases',
            [
              { label: 'Model', cell: (m) => m.name },
              { label: 'Version', cell: (m) => m.version },
              { label: 'Task', cell: (m) => m.task },
              { label: 'Aliases', cell: (m) => m.aliases.join(', ') || '–' },
              { label: 'Description', cell: (m) => m.description ?? '' },
              { label: 'Card', cell: cardDetails },
            ],
            models.models,
            'No model is loaded.',
          ),
          models.failures.length
            ? h(
                'ul',
                { class: 'problems' },
                ...models.failures.map((f) => h('li', {}, `${f.ref}: ${f.reason}`)),
              )
            : null,
        ),
        panel('aliases', 'Aliases', aliasForm(models, load)),
      );
    };
    await load();
  },
};

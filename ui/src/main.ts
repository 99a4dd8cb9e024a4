/**
 * The dashboard's entry: asks for the API key once per tab (sessionStorage), draws the navigation, and renders the
 * section of the current path; links inside /ui move without a reload (History API), leaving a page stops its feeds.
 */
import { ApiError, apiKey, getJson, whenUnauthorized } from './api.js';
import { fill, h } from './dom.js';
import { SECTIONS } from './sections/index.js';
import type { Section } from './sections/types.js';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const session = document.getElementById('session') as HTMLElement;
let leave: AbortController | undefined;

const sectionOf = (path: string): Section =>
  SECTIONS.find((s) => s.path === path.replace(/\/+$/, '')) ?? (SECTIONS[0] as Section);

function drawNav(current: Section): void {
  fill(
    nav,
    ...SECTIONS.map((s) =>
      h('li', {}, h('a', { href: s.path, 'aria-current': s === current ? 'page' : undefined }, s.title)),
    ),
  );
}

function drawSession(): void {
  fill(
    session,
    apiKey.get()
      ? h('button', { type: 'button', class: 'secondary', onclick: () => forgetKey() }, 'Forget API key')
      : null,
  );
}

function forgetKey(message?: string): void {
  apiKey.clear();
  leave?.abort();
  drawSession();
  askForKey(message);
}

/** The key form: control routes (and so every page) need `Authorization: Bearer <API_KEY>`. */
function askForKey(message?: string): void {
  document.title = 'API key · Model serving dashboard';
  const input = h('input', {
    id: 'api-key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'api-key-help',
  });
  const error = h('p', { id: 'api-key-error', class: 'error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    { class: 'key-form', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title' }, 'Your API key'),
    h(
      'p',
      { id: 'api-key-help' },
      'The dashboard reads and controls the API with its key. It is kept in this tab only (sessionStorage). With ',
      h('code', {}, 'npm start'),
      ' it is in ',
      h('code', {}, '.data/api-key'),
      '.',
    ),
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input),
    error,
    h('button', { type: 'submit', class: 'primary' }, 'Use this key'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      try {
        await getJson('/deployments', { key: input.value });
      } catch (err) {
        error.textContent =
          err instanceof ApiError && err.status === 401
            ? 'The API refused this key.'
            : `The API did not accept it: ${(err as Error).message}`;
        input.focus();
        return;
      }
      apiKey.set(input.value);
      drawSession();
      void show(location.pathname + location.search);
    })();
  });
  fill(main, form);
  input.focus();
}

async function show(url: string): Promise<void> {
  const target = new URL(url, location.origin);
  const section = sectionOf(target.pathname);
  drawNav(section);
  leave?.abort();
  if (!apiKey.get()) return askForKey();
  const controller = new AbortController();
  leave = controller;
  document.title = `${section.title} · Model serving dashboard`;
  fill(main, h('p', {}, 'Loading…'));
  main.setAttribute('aria-busy', 'true');
  try {
    await section.render({
      root: main,
      signal: controller.signal,
      params: target.searchParams,
      navigate,
    });
  } catch (err) {
    if (controller.signal.aborted) return;
    if (err instanceof ApiError && err.status === 401) return;
    fill(
      main,
      h('h1', {}, section.title),
      h('p', { class: 'error', role: 'alert' }, `Could not load this page: ${(err as Error).message}`),
    );
  } finally {
    if (leave === controller) main.removeAttribute('aria-busy');
  }
}

function navigate(path: string): void {
  history.pushState(null, '', path);
  void show(path).then(() => main.focus({ preventScroll: true }));
}

document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest('a');
  if (!link || link.target || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/ui')) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => void show(location.pathname + location.search));
whenUnauthorized(() => forgetKey('The API refused the stored key; enter it again.'));

drawSession();
void show(location.pathname + location.search);

/** A few DOM helpers: elements from data (text only, never HTML strings), tables, and number/time formats. */

type Child = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | undefined | null | ((event: Event) => void);

/** `h('a', { href: '/ui' }, 'Home')`: attributes, `on*` listeners, and text or node children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== undefined && value !== null) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces the element's content. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child | Child[];
  /** Right-aligned figures. */
  numeric?: boolean;
}

/** A table with a caption and column headers (scope=col) in a scrollable box, or `empty` when there are no rows. */
export function table<T>(caption: string, columns: Column<T>[], rows: T[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  const head = h(
    'tr',
    {},
    ...columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : '' }, c.label)),
  );
  const body = rows.map((row) =>
    h('tr', {}, ...columns.map((c) => h('td', { class: c.numeric ? 'num' : '' }, c.cell(row)))),
  );
  // A narrow screen scrolls the table inside this box, so the box takes keyboard focus (arrow keys scroll it).
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h('table', {}, h('caption', {}, caption), h('thead', {}, head), h('tbody', {}, ...body)),
  );
}

/** A titled section of a page; its heading labels it for screen readers. */
export function panel(id: string, title: string, ...children: (Child | Child[])[]): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': `${id}-title`, id },
    h('h2', { id: `${id}-title` }, title),
    ...children,
  );
}

/** Figures in a definition list: [label, value] pairs. */
export function figures(pairs: [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'figures' },
    ...pairs.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))),
  );
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge badge-${status.replace(/[^a-z_]/gi, '')}` }, status);
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export const fmt = {
  int: (n: number | null | undefined) => (n === null || n === undefined ? '–' : integer.format(n)),
  /** "1 run", "3 runs" (English plurals by an s, enough for the page's nouns). */
  count: (n: number, noun: string, more = false) =>
    `${integer.format(n)}${more ? '+' : ''} ${noun}${n === 1 && !more ? '' : 's'}`,
  num: (n: number | null | undefined) => (n === null || n === undefined ? '–' : decimal.format(n)),
  ms: (n: number | null | undefined) => (n === null || n === undefined ? '–' : `${decimal.format(n)} ms`),
  seconds: (s: number | null | undefined) => {
    if (s === null || s === undefined) return '–';
    if (s < 60) return `${decimal.format(s)} s`;
    const m = Math.floor(s / 60);
    return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
  },
  time: (iso: string | null | undefined) =>
    iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' }) : '–',
};

/** Announces a short message to everyone (visible, and read by screen readers through aria-live). */
export function toast(message: string): void {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = message;
  el.classList.add('shown');
  window.setTimeout(() => el.classList.remove('shown'), 6000);
}

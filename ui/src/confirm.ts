/**
 * Confirmation of an action in a modal <dialog> (focus moves into it, Escape cancels): every change the dashboard
 * makes goes through here, so nothing is changed by a single stray click.
 */
import { h } from './dom.js';

export interface ConfirmOptions {
  title: string;
  /** What will happen, in words. */
  body: string;
  action: string;
  /** An editable text field (e.g. a corrected record as JSON), returned on confirm. */
  field?: { label: string; value: string };
}

/** Resolves to the field's text (or '' without a field) when confirmed, null when cancelled. */
export function confirmAction(options: ConfirmOptions): Promise<string | null> {
  return new Promise((resolve) => {
    const field = options.field
      ? h('textarea', { id: 'confirm-field', rows: 6, spellcheck: false }, options.field.value)
      : undefined;
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-body' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, options.title),
        h('p', { id: 'confirm-body' }, options.body),
        field && options.field
          ? h('div', { class: 'field' }, h('label', { for: 'confirm-field' }, options.field.label), field)
          : null,
        h(
          'div',
          { class: 'actions' },
          h('button', { value: 'cancel', type: 'submit', class: 'secondary' }, 'Cancel'),
          h('button', { value: 'confirm', type: 'submit', class: 'primary' }, options.action),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'confirm';
      const text = field?.value ?? '';
      dialog.remove();
      resolve(confirmed ? text : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

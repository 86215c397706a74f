// Modal dialogs on the native <dialog> element: it traps focus, closes on Escape, and restores
// focus to where it was, which makes every dialog keyboard usable for free.
import { h } from './dom.js';
import { icon } from './icons.js';

/**
 * Opens a modal dialog. `build(close)` returns its body. Resolves with the value given to
 * `close(value)` (undefined on Escape or the close button), after the dialog is removed.
 */
export function openDialog(title, build, { className = '' } = {}) {
  return new Promise((resolve) => {
    let result;
    const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
    const dialog = h('dialog', { class: ['dialog', className], 'aria-labelledby': titleId });
    const close = (value) => {
      result = value;
      dialog.close();
    };
    const header = h(
      'header',
      { class: 'dialog-header' },
      h('h2', { id: titleId, text: title }),
      h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close', on: { click: () => close() } }, icon('close')),
    );
    dialog.append(header, h('div', { class: 'dialog-body' }, build(close)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    // A click on the backdrop (outside the box) closes, as users expect.
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog) close();
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('[autofocus], input, textarea, select')?.focus();
  });
}

/** A yes/no question; resolves with the chosen option's value, or undefined. */
export function choose(title, text, options) {
  return openDialog(title, (close) => [
    h('p', { class: 'dialog-text', text }),
    h(
      'div',
      { class: 'dialog-actions' },
      options.map((option) =>
        h('button', { type: 'button', class: ['button', option.className ?? ''], on: { click: () => close(option.value) } }, option.label),
      ),
    ),
  ]);
}

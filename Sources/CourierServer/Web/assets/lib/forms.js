// Form building blocks: labelled fields, an error line, and a submit wrapper that disables the
// form while a request runs and shows the server's message (and marks the field it is about).
import { h } from './dom.js';
import { describe } from './api.js';

let nextId = 0;

/** A label and its input (or textarea with `multiline`). Returns {row, input}. */
export function field({ label, hint, multiline = false, ...inputProps }) {
  const id = inputProps.id ?? `field-${++nextId}`;
  const input = h(multiline ? 'textarea' : 'input', { ...inputProps, id, 'aria-describedby': hint ? `${id}-hint` : null });
  const row = h(
    'div',
    { class: 'field' },
    h('label', { for: id, text: label }),
    input,
    hint ? h('p', { class: 'field-hint', id: `${id}-hint`, text: hint }) : null,
  );
  return { row, input };
}

/** An element for a form's error message, announced by screen readers when it changes. */
export function errorLine() {
  return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

export function showError(line, message) {
  line.textContent = message ?? '';
  line.hidden = !message;
}

/**
 * Runs `action` on submit: prevents the page load, disables the form's controls while it runs,
 * and shows any error in `line` (focusing the field the server named, when it is in the form).
 */
export function onSubmit(form, line, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const controls = [...form.querySelectorAll('button, input, textarea, select')];
    const wasDisabled = controls.map((c) => c.disabled);
    controls.forEach((c) => {
      c.disabled = true;
    });
    showError(line, null);
    form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    let failed = null;
    try {
      await action();
    } catch (error) {
      failed = error;
      showError(line, describe(error));
    } finally {
      controls.forEach((c, i) => {
        c.disabled = wasDisabled[i];
      });
    }
    if (failed?.field) {
      const target = form.querySelector(`[name="${CSS.escape(failed.field)}"]`);
      if (target) {
        target.setAttribute('aria-invalid', 'true');
        target.focus();
      }
    }
  });
}

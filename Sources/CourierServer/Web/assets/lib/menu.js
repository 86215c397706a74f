// A small popup menu (for "new chat" and message actions): arrow keys move, Escape closes and
// returns focus to the button that opened it, a click outside closes.
import { h } from './dom.js';
import { icon } from './icons.js';

let openMenu = null;

/** Closes the open menu, if any. */
export function closeMenu({ restoreFocus = false } = {}) {
  if (!openMenu) return;
  const { element, trigger, cleanup } = openMenu;
  openMenu = null;
  cleanup();
  element.remove();
  trigger.setAttribute('aria-expanded', 'false');
  if (restoreFocus) trigger.focus();
}

/**
 * Opens a menu under `trigger`. `items`: [{label, icon?, action, danger?}].
 */
export function showMenu(trigger, items, { align = 'start' } = {}) {
  const wasOpenHere = openMenu?.trigger === trigger;
  closeMenu();
  if (wasOpenHere) return; // a second click on the same button closes it
  const buttons = items.map((item) =>
    h(
      'button',
      {
        type: 'button',
        role: 'menuitem',
        class: ['menu-item', item.danger ? 'danger' : ''],
        on: {
          click: () => {
            closeMenu({ restoreFocus: true });
            item.action();
          },
        },
      },
      item.icon ? icon(item.icon) : null,
      h('span', { text: item.label }),
    ),
  );
  const element = h('div', { class: ['menu', `menu-${align}`], role: 'menu' }, buttons);
  const rect = trigger.getBoundingClientRect();
  document.body.append(element);
  // Place below the trigger, kept inside the window.
  const width = element.offsetWidth;
  const height = element.offsetHeight;
  let left = align === 'end' ? rect.right - width : rect.left;
  left = Math.max(8, Math.min(left, window.innerWidth - width - 8));
  let top = rect.bottom + 4;
  if (top + height > window.innerHeight - 8) top = Math.max(8, rect.top - height - 4);
  element.style.left = `${left}px`;
  element.style.top = `${top}px`;

  const onKey = (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeMenu({ restoreFocus: true });
    } else if (event.key === 'ArrowDown') {
      event.preventDefault();
      buttons[(index + 1) % buttons.length].focus();
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      buttons[(index - 1 + buttons.length) % buttons.length].focus();
    } else if (event.key === 'Tab') {
      closeMenu();
    }
  };
  const onPointer = (event) => {
    if (!element.contains(event.target) && !trigger.contains(event.target)) closeMenu();
  };
  const onScroll = (event) => {
    if (!element.contains(event.target)) closeMenu();
  };
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('pointerdown', onPointer, true);
  window.addEventListener('resize', onScroll);
  document.addEventListener('scroll', onScroll, true);
  trigger.setAttribute('aria-expanded', 'true');
  openMenu = {
    element,
    trigger,
    cleanup() {
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('pointerdown', onPointer, true);
      window.removeEventListener('resize', onScroll);
      document.removeEventListener('scroll', onScroll, true);
    },
  };
  buttons[0]?.focus();
}

// Short notices that come and go by themselves (a bot's answer to a pressed button, say), as
// Telegram shows them: one at a time, at the bottom of the window, announced by screen readers,
// never taking the focus. A click dismisses one early.
import { h } from './dom.js';

let element = null;
let timer = null;

/** Shows `text` for long enough to read it (or `duration` ms). */
export function showToast(text, { duration } = {}) {
  element ??= h('div', { class: 'toast', id: 'toast', role: 'status', 'aria-live': 'polite', on: { click: hideToast } });
  if (!element.isConnected) document.body.append(element);
  element.textContent = text;
  element.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(hideToast, duration ?? readingTime(text));
}

export function hideToast() {
  clearTimeout(timer);
  if (element) element.hidden = true;
}

/** About 2.5 s plus the time to read the words, at most 8 s. */
function readingTime(text) {
  return Math.min(8000, 2500 + String(text).length * 50);
}

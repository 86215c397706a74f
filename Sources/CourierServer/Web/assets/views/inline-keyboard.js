// The buttons under a bot's message (its inline keyboard, read and checked by lib/inline-keyboard.js).
// A callback button goes to the server, which hands the press to the bot and waits for its answer
// (up to 10 s): the answer's text shows as a toast, or in a dialog when the bot asks for an alert.
// A link button opens its http(s) page in a new tab that gets no handle on this one. Button texts
// are the bot's: they only ever become text nodes.
import * as api from '../lib/api.js';
import * as bots from '../lib/bots.js';
import * as users from '../lib/users.js';
import { choose } from '../lib/dialog.js';
import { h } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { keyboardRows } from '../lib/inline-keyboard.js';
import { showToast } from '../lib/toast.js';

/** Presses waiting for the bot's answer, by key (message id and callback data). Kept here, not
 *  on the element: an edit arriving meanwhile rebuilds the row, and its button stays busy. */
const waiting = new Set();

/** The keyboard of `message`, or null when it has none. */
export function inlineKeyboard(message) {
  const rows = keyboardRows(message);
  if (!rows.length) return null;
  return h(
    'div',
    { class: 'inline-keyboard', role: 'group', 'aria-label': 'Bot buttons', dataset: { messageId: message.id } },
    rows.map((row) => h('div', { class: 'keyboard-row' }, row.map((button) => keyboardButton(message, button)))),
  );
}

function keyboardButton(message, button) {
  const label = h('span', { class: 'keyboard-text', text: button.text });
  if (button.kind === 'url') {
    return h(
      'a',
      { class: 'keyboard-button link', href: button.url, target: '_blank', rel: 'noopener noreferrer', title: button.url },
      label,
      icon('external', { className: 'icon keyboard-link-icon', label: 'opens a web page' }),
    );
  }
  if (button.kind === 'callback') {
    const key = JSON.stringify([message.id, button.data]);
    return h(
      'button',
      { type: 'button', class: 'keyboard-button', 'aria-busy': waiting.has(key) ? 'true' : null, dataset: { key }, on: { click: () => press(message, button, key) } },
      label,
    );
  }
  // A kind this client does not do (switch_inline_query, login_url, a tg: link…): shown, inert.
  return h('button', { type: 'button', class: 'keyboard-button', disabled: true, title: 'This button does not work here' }, label);
}

async function press(message, button, key) {
  if (waiting.has(key)) return; // pressed again before the bot answered: once is enough
  setBusy(key, true);
  let answer;
  try {
    answer = await bots.pressButton(message.id, button.data);
  } catch (error) {
    showToast(api.describe(error));
    return;
  } finally {
    setBusy(key, false);
  }
  const bot = users.nameOf(message.sender_id);
  if (!answer?.answered) {
    showToast(`${bot} did not answer.`);
  } else if (answer.text && answer.show_alert) {
    await choose(bot, answer.text, [{ label: 'OK', value: true, className: 'primary' }]);
  } else if (answer.text) {
    showToast(answer.text);
  }
  // The answer's `url` (Telegram's, for games and t.me links) is not opened: a tab opened after
  // waiting for the server is a popup the browser blocks, and the page could be anything.
}

function setBusy(key, busy) {
  if (busy) waiting.add(key);
  else waiting.delete(key);
  for (const element of document.querySelectorAll('.keyboard-button[data-key]')) {
    if (element.dataset.key !== key) continue;
    if (busy) element.setAttribute('aria-busy', 'true');
    else element.removeAttribute('aria-busy');
  }
}

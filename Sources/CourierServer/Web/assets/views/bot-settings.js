// Settings → Bots: the person's own bots, programs that chat through this server with Telegram's
// Bot API. Create one (its username ends in "bot"), see its token once (after creating it or
// making a new one; the server keeps only a hash, so it cannot be shown again) with a button to
// copy it, make a new token (the old one stops working at once), open a chat with the bot, and
// delete it.
import * as api from '../lib/api.js';
import * as bots from '../lib/bots.js';
import * as chats from '../lib/chats.js';
import * as users from '../lib/users.js';
import { choose } from '../lib/dialog.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorLine, field, onSubmit, showError } from '../lib/forms.js';
import { icon } from '../lib/icons.js';
import { colorClass, fullDate, initials } from '../lib/format.js';
import { navigate } from '../lib/router.js';
import { botBadge } from './bot-badge.js';

export function renderBots(section, isMounted) {
  const list = h('ul', { class: 'bot-list', id: 'bot-list', 'aria-label': 'Your bots' }, h('li', { class: 'muted', text: 'Loading…' }));
  const listError = errorLine();
  // The token just made, until the person hides it or leaves the page.
  const tokenArea = h('div', { class: 'bot-token-area', id: 'bot-token-area', 'aria-live': 'polite' });
  const createError = errorLine();
  const username = field({
    label: 'New bot’s username', name: 'username', id: 'bot-username', required: true, minlength: 5, maxlength: 32,
    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'weather_bot',
    hint: '5 to 32 characters of a–z, 0–9 and _, ending in “bot”.',
  });
  const form = h('form', { class: 'form', id: 'bot-create-form' }, username.row, createError, h('button', { type: 'submit', class: 'button primary', id: 'bot-create-button', text: 'Create bot' }));
  onSubmit(form, createError, async () => {
    const name = username.input.value.trim().replace(/^@/, '');
    const problem = bots.botUsernameProblem(name);
    if (problem) throw Object.assign(new api.UserError(problem), { field: 'username' });
    const { bot, token } = await bots.createBot(name);
    username.input.value = '';
    showToken(bot, token, `@${bot.username} is ready.`);
    await load();
  });

  replaceChildren(section,
    h('h3', { id: 'bots-title', text: 'Bots' }),
    h('p', { class: 'muted' },
      'A bot is a program that chats through this server with Telegram’s Bot API: point a Telegram bot library at ',
      h('code', { text: location.origin }),
      ' instead of api.telegram.org, with the bot’s token.'),
    tokenArea,
    list,
    listError,
    form,
  );

  async function load() {
    let mine;
    try {
      mine = await bots.listBots();
    } catch (failure) {
      replaceChildren(list);
      showError(listError, api.describe(failure));
      return;
    }
    if (!isMounted()) return;
    showError(listError, null);
    replaceChildren(list, mine.length ? mine.map(row) : h('li', { class: 'muted', id: 'no-bots', text: 'No bots yet.' }));
  }

  function row(bot) {
    const handle = `@${bot.username}`;
    return h(
      'li',
      { class: 'bot-row', dataset: { botId: bot.id, username: bot.username } },
      h('span', { class: ['avatar', 'small', colorClass(bot.id)], 'aria-hidden': 'true', text: initials(bot.username) }),
      h('span', { class: 'bot-info' },
        h('strong', { class: 'bot-name' }, handle, botBadge()),
        h('span', { class: 'muted', text: bot.created_at ? `Created ${fullDate(bot.created_at)}` : '' }),
      ),
      h('span', { class: 'bot-actions' },
        h('button', { type: 'button', class: 'button small bot-open', text: 'Open chat', 'aria-label': `Open a chat with ${handle}`, on: { click: () => openChat(bot) } }),
        h('button', { type: 'button', class: 'button small bot-new-token', text: 'New token', 'aria-label': `New token for ${handle}`, on: { click: () => replaceToken(bot) } }),
        h('button', { type: 'button', class: 'button small danger bot-delete', text: 'Delete', 'aria-label': `Delete ${handle}`, on: { click: () => remove(bot) } }),
      ),
    );
  }

  /** Shows a token with a copy button; it is in no answer but the one that made it. */
  function showToken(bot, token, headline) {
    const code = h('code', { class: 'bot-token', id: 'bot-token', text: token });
    const copied = h('span', { class: 'bot-token-copied', id: 'bot-token-copied', role: 'status' });
    replaceChildren(tokenArea,
      h(
        'div',
        { class: 'bot-token-box', dataset: { botId: bot.id } },
        h('p', {}, h('strong', { text: headline }), ' Copy its token now: it is shown only this once. Whoever has it controls the bot.'),
        h('div', { class: 'bot-token-row' },
          code,
          h('button', { type: 'button', class: 'button small', id: 'bot-token-copy', on: { click: () => copy(token, code, copied) } }, icon('copy'), 'Copy'),
        ),
        copied,
        h('button', { type: 'button', class: 'link-button', id: 'bot-token-hide', text: 'Hide the token', on: { click: () => tokenArea.replaceChildren() } }),
      ),
    );
  }

  async function replaceToken(bot) {
    const sure = await choose(`New token for @${bot.username}?`, 'The current token stops working at once: the program that uses it needs the new one.', [
      { label: 'Make a new token', value: true, className: 'danger' },
      { label: 'Cancel', value: false },
    ]);
    if (!sure) return;
    showError(listError, null);
    try {
      showToken(bot, await bots.newToken(bot.id), `New token for @${bot.username}. The old one no longer works.`);
    } catch (failure) {
      showError(listError, api.describe(failure));
    }
  }

  async function remove(bot) {
    const sure = await choose(`Delete @${bot.username}?`, 'Its account goes, and its token stops working. This cannot be undone.', [
      { label: 'Delete bot', value: true, className: 'danger' },
      { label: 'Cancel', value: false },
    ]);
    if (!sure) return;
    showError(listError, null);
    try {
      await bots.deleteBot(bot.id);
      if (tokenArea.querySelector('.bot-token-box')?.dataset.botId === bot.id) tokenArea.replaceChildren();
      await load();
    } catch (failure) {
      showError(listError, api.describe(failure));
    }
  }

  async function openChat(bot) {
    showError(listError, null);
    try {
      const chat = await api.post('/chats', { type: 'dm', user_id: bot.id });
      await chats.addChat(chat);
      await users.ensure([bot.id]);
      navigate('chat', chat.id);
    } catch (failure) {
      showError(listError, api.describe(failure));
    }
  }

  load();
}

/** Copies `text`; where the clipboard is not allowed, selects it in `element` for Ctrl+C instead. */
async function copy(text, element, status) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(element);
    window.getSelection()?.removeAllRanges();
    window.getSelection()?.addRange(range);
    status.textContent = 'Selected: press Ctrl+C (⌘C on a Mac) to copy it.';
  }
}

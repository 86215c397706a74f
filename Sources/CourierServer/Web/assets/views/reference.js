// `/r/<reference>`: the page a Telegram notice links to. Shows the referenced message, with a
// link into its chat, for a signed-in user who may read it; anyone else learns only that it is
// not available (the server does not reveal whether it exists).
import * as api from '../lib/api.js';
import * as chats from '../lib/chats.js';
import * as users from '../lib/users.js';
import { h, replaceChildren } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { fullDate } from '../lib/format.js';
import { href, navigate } from '../lib/router.js';
import { store } from '../lib/store.js';

export function renderReference(container, reference) {
  let mounted = true;
  const body = h('div', { class: 'page-body', id: 'reference', 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Opening the message…' }));
  replaceChildren(container,
    h('section', { class: 'page reference-page', 'aria-labelledby': 'reference-title' },
      h('header', { class: 'page-header' },
        h('a', { class: 'icon-button back-button', href: href('home'), 'aria-label': 'Back to chats' }, icon('back')),
        h('h2', { id: 'reference-title', text: 'Message' }),
      ),
      body,
    ),
  );

  (async () => {
    let message;
    try {
      message = await api.get(`/references/${encodeURIComponent(reference)}`);
    } catch (failure) {
      if (!mounted) return;
      const gone = failure instanceof api.ApiError && failure.status === 404;
      replaceChildren(body,
        h('p', { class: 'notice', id: 'reference-unavailable', role: 'status', text: gone ? 'This message is not available.' : api.describe(failure) }),
        gone ? h('p', { class: 'muted', text: 'It may have been deleted, or you may not be a member of its chat.' }) : null,
        h('a', { class: 'button', href: href('home') }, 'Go to chats'),
      );
      return;
    }
    await users.ensure([message.sender_id]);
    if (!store.chats.has(message.chat_id)) await chats.refreshChat(message.chat_id).catch(() => null);
    if (!mounted) return;
    const chat = store.chats.get(message.chat_id);
    replaceChildren(body,
      h('article', { class: 'reference-message', id: 'reference-message', dataset: { messageId: message.id, chatId: message.chat_id } },
        h('p', { class: 'muted' }, chat && chat.type !== 'dm' ? `In ${chats.chatTitle(chat)} · ` : '', `From ${users.nameOf(message.sender_id)} · ${fullDate(message.created_at)}`),
        h('p', { class: 'message-text', text: message.deleted_at ? 'Message deleted' : message.content }),
      ),
      h('a', {
        class: 'button primary',
        id: 'reference-open-chat',
        href: href('chat', message.chat_id),
        on: {
          click: (event) => {
            // Stay in this page (no reload): the app and its connection are already running.
            event.preventDefault();
            navigate('chat', message.chat_id);
          },
        },
      }, 'Open the chat'),
    );
  })();

  return () => {
    mounted = false;
  };
}

// The chat list: avatar with online dot, name (with a bot's badge), last message, time, unread
// badge, typing state.
// Re-rendered as a whole (it is short) at most once per frame, keeping keyboard focus in place.
import * as api from '../lib/api.js';
import * as chats from '../lib/chats.js';
import { h, perFrame, replaceChildren } from '../lib/dom.js';
import { showMenu } from '../lib/menu.js';
import { icon } from '../lib/icons.js';
import { callSummary, colorClass, initials, listTime, mediaLabel, preview } from '../lib/format.js';
import { href, navigate } from '../lib/router.js';
import { store } from '../lib/store.js';
import { botBadge } from './bot-badge.js';

export function renderChatList() {
  const search = h('input', { type: 'search', class: 'search-input', id: 'chat-search', placeholder: 'Search', 'aria-label': 'Search chats', autocomplete: 'off' });
  const list = h('ul', { class: 'chat-list', id: 'chat-list' });
  const empty = h('p', { class: 'chat-list-empty', hidden: true });
  // Messages found by their words (the server's search), under the chats whose names match.
  const hitsTitle = h('h3', { class: 'search-hits-title', text: 'Messages', hidden: true });
  const hits = h('ul', { class: 'search-hits', id: 'search-hits', 'aria-label': 'Messages found' });
  const element = h('nav', { class: 'chat-list-area', 'aria-label': 'Chat list' }, h('div', { class: 'search-box' }, icon('search'), search), empty, list, hitsTitle, hits);
  let searchTimer = null;
  let searchRun = 0;

  /** Asks the server for messages with the words typed (after a pause in typing). */
  function searchMessages() {
    clearTimeout(searchTimer);
    const text = search.value.trim();
    const run = (searchRun += 1);
    if (text.length < 2) {
      hitsTitle.hidden = true;
      replaceChildren(hits);
      return;
    }
    searchTimer = setTimeout(async () => {
      try {
        // A page can come back empty with more to read (its candidates failed the check): read on, a little.
        let page = await api.get(`/search${api.query({ q: text, limit: 20 })}`);
        for (let more = 0; !page.results.length && page.next_before && more < 3 && run === searchRun; more += 1) {
          page = await api.get(`/search${api.query({ q: text, limit: 20, before: page.next_before })}`);
        }
        if (run !== searchRun) return; // typed on meanwhile
        hitsTitle.hidden = false;
        replaceChildren(hits, ...(page.results.length ? page.results.map(hit) : [h('li', { class: 'muted search-none', text: 'No messages found.' })]));
      } catch {
        if (run === searchRun) replaceChildren(hits, h('li', { class: 'muted search-none', text: 'Search is not available now.' }));
      }
    }, 250);
  }

  // Archived chats live behind one row at the top, as in Telegram (a search looks in them too).
  let showArchived = false;
  const render = perFrame(() => {
    const focusedId = document.activeElement?.closest?.('.chat-item')?.dataset.chatId;
    const filter = search.value.trim().toLowerCase();
    const all = store.sortedChats();
    const archived = all.filter((chat) => chat.archived);
    const inView = filter ? all : all.filter((chat) => Boolean(chat.archived) === showArchived);
    const shown = inView.filter((chat) => !filter || chats.chatTitle(chat).toLowerCase().includes(filter));
    const archiveRow = !filter && (archived.length || showArchived)
      ? h('li', {}, h('button', {
        type: 'button', class: 'chat-item archive-toggle', id: 'archive-toggle',
        on: { click: () => { showArchived = !showArchived; render(); } },
      }, showArchived ? '← Back to chats' : `Archived chats (${archived.length})`))
      : null;
    replaceChildren(list, archiveRow, ...shown.map(item));
    empty.hidden = shown.length > 0 || filter.length >= 2; // with words typed, messages found show below
    element.classList.toggle('searching', filter.length >= 2);
    empty.textContent = filter ? 'No chats match.' : 'No chats yet. Start one with the pencil button.';
    if (focusedId) list.querySelector(`[data-chat-id="${CSS.escape(focusedId)}"]`)?.focus();
  });

  search.addEventListener('input', () => {
    render();
    searchMessages();
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      search.value = '';
      render();
      searchMessages();
    }
  });
  // Right-click (or a long press) on a chat: pin, mute, archive.
  list.addEventListener('contextmenu', (event) => {
    const link = event.target.closest('.chat-item[data-chat-id]');
    if (!link || link.classList.contains('search-hit')) return;
    event.preventDefault();
    openChatMenu(link, store.chats.get(link.dataset.chatId));
  });
  const cleanups = ['chats', 'users', 'presence', 'typing', 'route', 'me'].map((topic) => store.on(topic, render));
  render();
  return { element, teardown: () => cleanups.forEach((cleanup) => cleanup()) };
}

/** A chat's own settings, from its menu. */
function openChatMenu(anchor, chat) {
  if (!chat) return;
  const change = (settings) => chats.changeSettings(chat.id, settings).catch(() => {});
  const muted = chats.isMuted(chat);
  const items = [
    { label: chat.pinned_at ? 'Unpin' : 'Pin to top', icon: 'pin', action: () => change({ pinned: !chat.pinned_at }) },
    ...(muted
      ? [{ label: 'Unmute', icon: 'bell', action: () => change({ mute: 'off' }) }]
      : [
          { label: 'Mute for 1 hour', icon: 'bell-off', action: () => change({ mute: '1h' }) },
          { label: 'Mute for 8 hours', icon: 'bell-off', action: () => change({ mute: '8h' }) },
          { label: 'Mute forever', icon: 'bell-off', action: () => change({ mute: 'forever' }) },
        ]),
    { label: chat.archived ? 'Unarchive' : 'Archive', icon: 'archive', action: () => change({ archived: !chat.archived }) },
  ];
  showMenu(anchor, items);
}

/** Opens a chat at its first unread mention. */
function openMention(event, chat) {
  event.preventDefault();
  event.stopPropagation();
  if (chat.first_unread_mention_seq) store.jumpTo = { chatId: chat.id, seq: chat.first_unread_mention_seq };
  if (store.activeChatId === chat.id) store.emit('jump', chat.id);
  else navigate('chat', chat.id);
}

function item(chat) {
  const title = chats.chatTitle(chat);
  const peer = chat.type === 'dm' ? store.users.get(chat.peer_id) : null;
  const online = chat.type === 'dm' && store.presence.get(chat.peer_id)?.online;
  const typing = chats.typingNames(chat.id);
  const last = chat.last_message;
  const own = last && last.sender_id === store.me?.id;
  const unread = chat.unread_count ?? 0;

  let previewNode;
  if (typing.length) {
    previewNode = h('span', { class: 'typing', text: chat.type === 'dm' ? 'typing…' : `${typing[0]} is typing…` });
  } else if (chat.draft && store.activeChatId !== chat.id) {
    previewNode = h('span', {}, h('span', { class: 'preview-draft', text: 'Draft: ' }), chat.draft.replace(/\s+/g, ' ').trim());
  } else if (last?.metadata?.call && !last.deleted_at) {
    // A call's line, worded for this side ("Missed call"), with its icon.
    const summary = callSummary(last.metadata.call, store.me?.id);
    previewNode = h(
      'span',
      { class: ['call-preview', summary.missed ? 'missed' : ''] },
      icon(summary.video ? 'video' : 'phone', { className: 'icon call-preview-icon' }),
      summary.text,
    );
  } else if (last) {
    // "Photo", "Voice message"…: in the accent colour, as Telegram sets media apart from text.
    const label = last.deleted_at ? '' : mediaLabel(last);
    const text = label ? (last.content ?? '').replace(/\s+/g, ' ').trim() : preview(last);
    previewNode = h(
      'span',
      {},
      own && chat.type !== 'channel' ? h('span', { class: 'preview-author', text: 'You: ' }) : null,
      label ? h('span', { class: 'preview-media', text: label }) : null,
      label && text ? ', ' : null,
      text,
    );
  } else {
    previewNode = h('span', { class: 'muted', text: chat.type === 'channel' ? 'No posts yet' : 'No messages yet' });
  }

  const kindIcon = chat.type === 'group' ? icon('users', { className: 'icon kind' }) : chat.type === 'channel' ? icon('megaphone', { className: 'icon kind' }) : null;
  const status = own && chat.type !== 'channel' && !last.metadata?.call ? ownStatusIcon(chat, last) : null;
  const muted = chats.isMuted(chat);
  const mentions = chat.unread_mentions ?? 0;
  const label = [title, peer?.is_bot ? 'bot' : null, online ? 'online' : null, unread ? `${unread} unread` : null, mentions ? 'mentioned' : null, muted ? 'muted' : null, chat.pinned_at ? 'pinned' : null]
    .filter(Boolean).join(', ');

  return h(
    'li',
    {},
    h(
      'a',
      {
        href: href('chat', chat.id),
        class: ['chat-item', store.activeChatId === chat.id ? 'active' : ''],
        dataset: { chatId: chat.id, chatType: chat.type },
        'aria-current': store.activeChatId === chat.id ? 'page' : null,
        'aria-label': label,
      },
      h(
        'span',
        { class: ['avatar', colorClass(chat.type === 'dm' ? chat.peer_id : chat.id)], 'aria-hidden': 'true' },
        initials(title),
        online ? h('span', { class: 'online-dot' }) : null,
      ),
      h(
        'span',
        { class: 'chat-item-body' },
        h(
          'span',
          { class: 'chat-item-top' },
          h('span', { class: 'chat-item-title' }, kindIcon, h('span', { class: 'chat-name', text: title }),
            peer?.is_bot ? botBadge() : null,
            peer?.is_premium ? icon('star', { className: 'icon premium-star', label: 'Premium' }) : null,
            muted ? icon('bell-off', { className: 'icon muted-icon', label: 'Muted' }) : null),
          h('span', { class: 'chat-item-time' }, status, listTime(last?.created_at ?? chat.last_activity_at)),
        ),
        h(
          'span',
          { class: 'chat-item-bottom' },
          h('span', { class: 'chat-item-preview' }, previewNode),
          mentions ? h('button', { type: 'button', class: 'mention-badge', 'aria-label': 'Go to the mention', text: '@', on: { click: (event) => openMention(event, chat) } }) : null,
          unread ? h('span', { class: ['unread-badge', muted ? 'muted' : ''], 'aria-hidden': 'true', text: unread > 999 ? '999+' : String(unread) }) : null,
          !unread && chat.pinned_at ? icon('pin', { className: 'icon pinned-icon', label: 'Pinned' }) : null,
        ),
      ),
    ),
  );
}

/** A message found: its chat, the words around the match, when; opening it shows the message. */
function hit({ message, snippet }) {
  const chat = store.chats.get(message.chat_id);
  const title = chat ? chats.chatTitle(chat) : 'Chat';
  const open = (event) => {
    event.preventDefault();
    store.jumpTo = { chatId: message.chat_id, messageId: message.id };
    if (store.activeChatId === message.chat_id) store.emit('jump', message.chat_id);
    else navigate('chat', message.chat_id);
  };
  return h(
    'li',
    {},
    h(
      'a',
      { href: href('chat', message.chat_id), class: 'chat-item search-hit', dataset: { messageId: message.id, chatId: message.chat_id }, on: { click: open } },
      h('span', { class: ['avatar', colorClass(chat?.type === 'dm' ? chat.peer_id : message.chat_id)], 'aria-hidden': 'true' }, initials(title)),
      h(
        'span',
        { class: 'chat-item-body' },
        h('span', { class: 'chat-item-top' }, h('span', { class: 'chat-item-title' }, h('span', { class: 'chat-name', text: title })), h('span', { class: 'chat-item-time' }, listTime(message.created_at))),
        h('span', { class: 'chat-item-bottom' }, h('span', { class: 'chat-item-preview', text: snippet })),
      ),
    ),
  );
}

function ownStatusIcon(chat, message) {
  const read = (chat.others_read_seq ?? 0) >= message.seq;
  return icon(read ? 'checks' : 'check', { className: 'icon tick', label: read ? 'Read' : 'Sent' });
}

// The rows of a conversation: a date separator, a stored message (author in groups, reply quote,
// media, text or caption or "Message deleted", "edited", time, ✓ sent / ✓✓ read for your own), and
// one of your own messages still waiting for the server (its uploads' progress with Cancel, 🕓, or
// "Not sent" with Retry and Discard), and the line a call left. A bot's message may carry buttons
// (its inline keyboard) under the bubble, and a bot's name its badge.
import * as users from '../lib/users.js';
import { h } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { clock, colorClass, fullDate } from '../lib/format.js';
import { botBadge } from './bot-badge.js';
import { inlineKeyboard } from './inline-keyboard.js';
import { hasVisualMedia } from './media-bubble.js';
import { uploadSummary } from './upload-item.js';

/** A device without hover (a phone): tapping a message opens its actions. */
const touchOnly = window.matchMedia('(hover: none)');

export function daySeparator(day, label) {
  return h('li', { class: 'day-separator', dataset: { day } }, h('span', { text: label }));
}

/** The quote of the message replied to; clicking it shows the original. */
function replyQuote(reply, actions) {
  return h(
    'button',
    { type: 'button', class: 'reply-quote', 'aria-label': `Reply to ${reply.author || 'a message'}: ${reply.text}`, on: { click: () => actions.showOriginal(reply.id) } },
    reply.author ? h('span', { class: 'reply-author', text: reply.author }) : null,
    h('span', { class: 'reply-text', text: reply.text }),
  );
}

/**
 * A stored message. `view`: {own, status ('sent' | 'read' | null), author ('' unless shown),
 * authorIsBot (the author gets a bot badge), reply ({author, text, id} | null), media (the element
 * of its media, or null)}. `actions`: {openActions(button, message), showOriginal(id),
 * react(message, emoji | null)}.
 */
export function messageRow(message, { own, status, author, authorIsBot = false, reply, media: mediaElement = null }, actions) {
  const deleted = Boolean(message.deleted_at);
  const media = deleted ? null : mediaElement;
  const caption = deleted ? 'Message deleted' : message.content;
  const visual = Boolean(media) && hasVisualMedia(message);
  // Pictures without a caption carry their time on themselves, as in Telegram.
  const metaOver = visual && !caption && message.media.every((m) => m.kind === 'photo' || m.kind === 'video');
  const meta = h(
    'span',
    { class: 'message-meta' },
    message.edited_at && !deleted ? h('span', { class: 'edited', text: 'edited' }) : null,
    h('time', { datetime: message.created_at, title: fullDate(message.created_at), text: clock(message.created_at) }),
    status ? icon(status === 'read' ? 'checks' : 'check', { className: `icon tick ${status}`, label: status === 'read' ? 'Read' : 'Sent' }) : null,
  );
  const bubble = h(
    'div',
    { class: ['bubble', media ? 'with-media' : '', visual ? 'with-visual' : '', media && !caption ? 'media-only' : '', metaOver ? 'meta-over' : ''] },
    author ? h('span', { class: ['message-author', colorClass(message.sender_id)] }, author, authorIsBot ? botBadge() : null) : null,
    reply && !deleted ? replyQuote(reply, actions) : null,
    media,
    caption || !media ? h('p', { class: 'message-text', text: caption }) : null,
    meta,
  );
  const keyboard = deleted ? null : inlineKeyboard(message);
  const reactions = !deleted && message.reactions?.length ? reactionBar(message, actions) : null;
  const menuButton = deleted
    ? null
    : h(
        'button',
        {
          type: 'button',
          class: 'message-actions',
          'aria-label': 'Message actions',
          'aria-haspopup': 'menu',
          'aria-expanded': 'false',
          on: { click: (event) => actions.openActions(event.currentTarget, message) },
        },
        icon('more'),
      );
  if (menuButton) {
    // Right-click (or a long press) opens the same menu, as in Telegram; so does a tap on a
    // touch screen, where there is no hover to reveal the actions button.
    bubble.addEventListener('contextmenu', (event) => {
      if (window.getSelection()?.toString()) return; // keep the browser's menu for copying a selection
      event.preventDefault();
      actions.openActions(menuButton, message);
    });
    bubble.addEventListener('click', (event) => {
      if (!touchOnly.matches || event.target.closest('.reply-quote, .message-media') || window.getSelection()?.toString()) return;
      actions.openActions(menuButton, message);
    });
  }
  return h(
    'li',
    {
      class: ['message', own ? 'own' : 'other', deleted ? 'deleted' : ''],
      id: `message-${message.id}`,
      dataset: { id: message.id, seq: message.seq, status: status ?? '', clientMsgId: message.client_msg_id ?? '' },
    },
    keyboard || reactions ? h('div', { class: 'message-body' }, bubble, keyboard, reactions) : bubble,
    menuButton,
  );
}

/** The reactions under a message: each emoji with its count; yours is marked, and pressing one
 *  sets it as yours (or takes yours back). Who reacted is in the tooltip where it is known. */
function reactionBar(message, actions) {
  return h(
    'div',
    { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    message.reactions.map((reaction) => {
      const mine = message.my_reaction === reaction.emoji;
      return h(
        'button',
        {
          type: 'button',
          class: ['reaction', mine ? 'mine' : ''],
          'aria-pressed': String(mine),
          title: reactorNames(reaction),
          dataset: { emoji: reaction.emoji },
          on: { click: () => actions.react(message, mine ? null : reaction.emoji) },
        },
        h('span', { class: 'reaction-emoji', text: reaction.emoji }),
        h('span', { class: 'reaction-count', text: String(reaction.count) }),
      );
    }),
  );
}

function reactorNames(reaction) {
  const names = (reaction.user_ids ?? []).map((id) => users.nameOf(id)).filter(Boolean);
  return names.length ? names.join(', ') + (reaction.count > names.length ? ` and ${reaction.count - names.length} more` : '') : `${reaction.count}`;
}

/**
 * The line a call left (`metadata.call`): a compact service line in the middle, with a phone (or a
 * camera) icon, the words for this side (`summary` from format.js's callSummary) and the time.
 */
export function callRow(message, summary) {
  const iconName = summary.video ? 'video' : summary.missed ? 'phone-missed' : summary.outgoing ? 'phone-outgoing' : 'phone-incoming';
  return h(
    'li',
    {
      class: ['call-line', summary.missed ? 'missed' : ''],
      id: `message-${message.id}`,
      dataset: { id: message.id, seq: message.seq, outcome: message.metadata.call.outcome, direction: summary.outgoing ? 'outgoing' : 'incoming' },
    },
    h(
      'span',
      { class: 'call-line-body' },
      icon(iconName, { className: 'icon call-line-icon', label: summary.video ? 'Video call' : 'Voice call' }),
      h('span', { class: 'call-line-text', text: summary.text }),
      h('time', { datetime: message.created_at, title: fullDate(message.created_at), text: clock(message.created_at) }),
    ),
  );
}

/** One of your messages not acknowledged yet. `actions`: {retry(entry), discard(entry), showOriginal(id)}. */
export function pendingRow(entry, reply, actions) {
  const failed = entry.state === 'failed';
  const uploading = entry.state === 'uploading';
  const meta = h(
    'span',
    { class: 'message-meta' },
    h('time', { datetime: entry.created_at, text: clock(entry.created_at) }),
    icon(failed ? 'alert' : 'clock', { className: `icon tick ${failed ? 'failed' : 'pending'}`, label: failed ? 'Not sent' : uploading ? 'Uploading' : 'Sending' }),
  );
  const uploads = entry.uploads?.length
    ? h('ul', { class: 'pending-uploads', 'aria-label': 'Files being sent' }, entry.uploads.map((upload) => h('li', {}, uploadSummary(upload))))
    : null;
  const bubble = h(
    'div',
    { class: ['bubble', uploads ? 'with-media' : ''] },
    reply ? replyQuote(reply, actions) : null,
    uploads,
    entry.content || !uploads ? h('p', { class: 'message-text', text: entry.content }) : null,
    uploading
      ? h('button', { type: 'button', class: 'link-button upload-cancel', on: { click: () => actions.discard(entry) } }, 'Cancel')
      : null,
    meta,
  );
  const failure = failed
    ? h(
        'div',
        { class: 'message-failure', role: 'alert' },
        h('span', { text: entry.error || 'Not sent.' }),
        h('button', { type: 'button', class: 'link-button', on: { click: () => actions.retry(entry) } }, 'Retry'),
        h('button', { type: 'button', class: 'link-button', on: { click: () => actions.discard(entry) } }, 'Discard'),
      )
    : null;
  return h('li', { class: ['message', 'own', 'pending'], dataset: { clientMsgId: entry.client_msg_id, status: failed ? 'failed' : uploading ? 'uploading' : 'pending' } }, bubble, failure);
}

// Messages as this device has them: one Timeline per chat, loaded page by page over REST, kept
// current by real-time frames; sending (pending until acknowledged; with media, first uploading
// it), editing, deleting, read marks and typing notices.
import * as api from './api.js';
import * as users from './users.js';
import { sendFrame } from './socket.js';
import { store } from './store.js';
import { Timeline } from './timeline.js';

const PAGE_SIZE = 50;
const READ_DELAY_MS = 250;
const TYPING_SEND_EVERY_MS = 3000;
/** The server's limit of attachments per message (an album). */
export const MAX_ATTACHMENTS = 10;

const timelines = new Map();
const gapFills = new Map();
const readTimers = new Map();
const lastTypingSent = new Map();

/** The timeline of a chat (created empty on first use). */
export function timeline(chatId) {
  if (!timelines.has(chatId)) timelines.set(chatId, new Timeline(chatId));
  return timelines.get(chatId);
}

/** The timeline of a chat if one exists (no history loaded otherwise). */
export function existingTimeline(chatId) {
  return timelines.get(chatId) ?? null;
}

export function dropTimeline(chatId) {
  timelines.delete(chatId);
}

/** Forgets everything (sign-out), cancelling uploads still on their way. */
export function reset() {
  for (const t of timelines.values()) for (const entry of t.pending) entry.uploads?.forEach((upload) => upload.cancel());
  timelines.clear();
  store.pins.clear();
  openings.clear();
  gapFills.clear();
  lastTypingSent.clear();
  for (const timer of readTimers.values()) clearTimeout(timer);
  readTimers.clear();
}

/** A summary says the chat has reached `lastSeq`: fetch what a loaded timeline lacks. */
export function catchUp(chatId, lastSeq) {
  const t = timelines.get(chatId);
  if (t?.loaded && lastSeq > t.newestSeq) fillGap(chatId);
}

// ---------------------------------------------------------------------------------------------
// History

const openings = new Map();

/** Loads the newest page of a chat's history (once; callers meanwhile share the same outcome). */
export function openTimeline(chatId) {
  const t = timeline(chatId);
  if (t.loaded) return Promise.resolve(t);
  if (!openings.has(chatId)) {
    openings.set(chatId, loadNewest(t).finally(() => openings.delete(chatId)));
  }
  return openings.get(chatId);
}

async function loadNewest(t) {
  const page = await api.get(`/chats/${t.chatId}/messages${api.query({ limit: PAGE_SIZE })}`);
  t.merge(page.messages);
  t.loaded = true;
  t.hasOlder = page.has_more;
  await users.ensure(page.messages.map((m) => m.sender_id));
  store.emit('timeline', t.chatId);
  return t;
}

/** Loads the page before the oldest loaded message (scrolling up); true when one came. */
export async function loadOlder(chatId) {
  const t = timeline(chatId);
  if (!t.loaded || !t.hasOlder || t.loadingOlder || t.oldestSeq === null) return false;
  t.loadingOlder = true;
  store.emit('timeline', chatId);
  try {
    const page = await api.get(`/chats/${chatId}/messages${api.query({ limit: PAGE_SIZE, before_seq: t.oldestSeq })}`);
    t.merge(page.messages);
    t.hasOlder = page.has_more;
    await users.ensure(page.messages.map((m) => m.sender_id));
    return page.messages.length > 0;
  } finally {
    t.loadingOlder = false;
    store.emit('timeline', chatId);
  }
}

/** Fetches what is missing after the contiguous part of a loaded timeline (once at a time). */
export function fillGap(chatId) {
  if (gapFills.has(chatId)) return gapFills.get(chatId);
  const run = (async () => {
    const t = timeline(chatId);
    for (let after = t.contiguousSeq; ; after = t.contiguousSeq) {
      const page = await api.get(`/chats/${chatId}/messages${api.query({ limit: 100, after_seq: after })}`);
      t.merge(page.messages);
      if (!page.has_more || page.messages.length === 0) break;
    }
    store.emit('timeline', chatId);
  })()
    .catch(() => {})
    .finally(() => gapFills.delete(chatId));
  gapFills.set(chatId, run);
  return run;
}

/** A message that arrived live (or by resume): into its timeline if the chat has one, a hole filled. */
export function addArrived(message) {
  const t = timelines.get(message.chat_id);
  if (!t) return;
  const gap = t.hasGapBefore(message.seq);
  if (t.merge([message])) store.emit('timeline', message.chat_id);
  if (gap) fillGap(message.chat_id);
}

// ---------------------------------------------------------------------------------------------
// Sending

/** Sends a text message; it shows at once as pending and settles on the server's ack. */
export function sendMessage(chatId, content, replyToId = null) {
  const entry = {
    client_msg_id: api.randomId(),
    chat_id: chatId,
    content,
    reply_to_id: replyToId,
    sender_id: store.me?.id,
    created_at: new Date().toISOString(),
  };
  timeline(chatId).addPending(entry);
  store.emit('timeline', chatId);
  transmit(entry);
}

/**
 * Sends files (`Upload`s, already started or not) with an optional caption. It shows at once as
 * a pending message with the uploads' progress, and goes to the server when every upload is done,
 * as one message with all of them (an album). More than the server takes in one message become
 * several messages; the caption goes with the first.
 */
export function sendMedia(chatId, uploads, caption = '', replyToId = null) {
  for (let at = 0; at < uploads.length; at += MAX_ATTACHMENTS) {
    const entry = {
      client_msg_id: api.randomId(),
      chat_id: chatId,
      content: at === 0 ? caption : '',
      reply_to_id: at === 0 ? replyToId : null,
      sender_id: store.me?.id,
      created_at: new Date().toISOString(),
      uploads: uploads.slice(at, at + MAX_ATTACHMENTS),
      state: 'uploading',
    };
    timeline(chatId).addPending(entry);
    uploadThenTransmit(entry);
  }
  store.emit('timeline', chatId);
}

/** Waits for the entry's uploads (showing their progress), then sends it; a failed upload fails it. */
async function uploadThenTransmit(entry) {
  const changed = () => store.emit('timeline', entry.chat_id);
  const unsubscribe = entry.uploads.map((upload) => upload.on(changed));
  try {
    const media = await Promise.all(entry.uploads.map((upload) => upload.start()));
    if (entry.state !== 'uploading') return; // discarded meanwhile
    entry.media = media;
    entry.attachments = media.map((m) => m.id);
    entry.state = 'pending';
    changed();
    transmit(entry);
  } catch {
    if (entry.state !== 'uploading') return;
    const failed = entry.uploads.find((upload) => upload.state === 'failed' || upload.state === 'cancelled');
    timeline(entry.chat_id).fail(entry.client_msg_id, failed?.error || 'The upload was cancelled.');
    changed();
  } finally {
    unsubscribe.forEach((off) => off());
  }
}

/** Sends a pending message over the socket; when offline it waits for the next `resumed`. */
function transmit(entry) {
  const frame = {
    type: 'message',
    ref: entry.client_msg_id,
    chat_id: entry.chat_id,
    content: entry.content,
    client_msg_id: entry.client_msg_id,
  };
  // With attachments the server derives the type from the first one, and the text is a caption.
  if (entry.attachments?.length) frame.attachments = entry.attachments;
  else frame.message_type = 'text';
  if (entry.reply_to_id) frame.reply_to_id = entry.reply_to_id;
  sendFrame(frame);
}

/**
 * Sends again every message not acknowledged yet: typed while offline, or whose ack a drop
 * swallowed. Safe: the same client_msg_id never makes a second message (and those the resume
 * already delivered were settled by their new_message).
 */
export function resendUnacknowledged() {
  for (const t of timelines.values()) for (const entry of t.unacknowledged()) transmit(entry);
}

/** The server refused a message (its ack carries an error). */
export function failPending(clientMsgId, error) {
  for (const t of timelines.values()) {
    if (t.fail(clientMsgId, error)) store.emit('timeline', t.chatId);
  }
}

/** Sends a failed message again (same client_msg_id: the server never stores it twice). */
export function retry(chatId, clientMsgId) {
  const entry = timeline(chatId).findPending(clientMsgId);
  if (!entry) return;
  entry.error = null;
  if (entry.uploads && !entry.attachments) {
    // An upload failed: start those not done again (the others keep what they have).
    if (entry.uploads.some((upload) => upload.state === 'cancelled')) return;
    entry.state = 'uploading';
    store.emit('timeline', chatId);
    uploadThenTransmit(entry);
    return;
  }
  entry.state = 'pending';
  store.emit('timeline', chatId);
  transmit(entry);
}

/** Drops a pending message (failed, or still uploading: its uploads are cancelled). */
export function discard(chatId, clientMsgId) {
  const entry = timeline(chatId).findPending(clientMsgId);
  if (entry?.uploads && !entry.attachments) {
    entry.state = 'discarded';
    entry.uploads.forEach((upload) => upload.cancel());
  }
  if (timeline(chatId).discard(clientMsgId)) store.emit('timeline', chatId);
}

// ---------------------------------------------------------------------------------------------
// Editing and deleting

export async function editMessage(message, content) {
  const edited = await api.patch(`/messages/${message.id}`, { content });
  applyEdited(edited);
  return edited;
}

export async function deleteMessage(message, scope) {
  await api.del(`/messages/${message.id}${api.query({ for: scope })}`);
  if (scope === 'me') {
    if (timelines.get(message.chat_id)?.remove(message.id)) store.emit('timeline', message.chat_id);
  } else {
    applyDeleted(message.chat_id, message.id);
  }
}

/** An edit (ours, or a message_edited frame). Our own reaction is not in a shared frame: kept. */
export function applyEdited(message) {
  const current = timelines.get(message.chat_id)?.findById(message.id);
  const edited = current && message.my_reaction === undefined ? { ...message, my_reaction: current.my_reaction ?? null } : message;
  if (timelines.get(message.chat_id)?.update(edited)) store.emit('timeline', message.chat_id);
  patchLastMessage(message.chat_id, message.id, message);
}

/** A reaction changed (a reaction_changed frame): the message's reactions as they are now, and
 *  ours when the change was ours (on this device or another). */
export function applyReaction(frame) {
  const timeline = timelines.get(frame.chat_id);
  const current = timeline?.findById(frame.message_id);
  if (!current) return;
  const mine = frame.user_id === store.me?.id ? (frame.emoji ?? null) : (current.my_reaction ?? null);
  timeline.update({ ...current, reactions: frame.reactions ?? [], my_reaction: mine });
  store.emit('timeline', frame.chat_id);
}

/** Sets our reaction to a message (one per message: it replaces ours), or with null takes it back. */
export async function react(message, emoji) {
  const path = `/messages/${message.id}/reaction`;
  const updated = emoji ? await api.put(path, { emoji }) : await api.del(path);
  const timeline = timelines.get(message.chat_id);
  const current = timeline?.findById(message.id);
  if (current && timeline.update({ ...current, reactions: updated.reactions ?? [], my_reaction: updated.my_reaction ?? null })) {
    store.emit('timeline', message.chat_id);
  }
}

// ---------------------------------------------------------------------------------------------
// Pins

/** Loads a chat's pinned messages (newest pin first) into the store. */
export async function loadPins(chatId) {
  const { pins } = await api.get(`/chats/${chatId}/pins`);
  store.pins.set(chatId, pins);
  store.emit('pins', chatId);
}

/** Pins or unpins a message; the pins are reloaded when the update arrives (here too). */
export async function setPinned(message, pinned) {
  const path = `/messages/${message.id}/pin`;
  if (pinned) await api.put(path);
  else await api.del(path);
  await loadPins(message.chat_id);
}

/** Whether a message is pinned, as far as this device knows. */
export function isPinned(message) {
  return (store.pins.get(message.chat_id) ?? []).some((pin) => pin.message.id === message.id);
}

/** A message this user deleted for themselves (on another device: a message_hidden update). */
export function applyHidden(chatId, messageId) {
  if (timelines.get(chatId)?.remove(messageId)) store.emit('timeline', chatId);
}

/** A deletion for everyone (ours, or a message_deleted frame); its pin goes with it. */
export function applyDeleted(chatId, messageId) {
  const pins = store.pins.get(chatId);
  if (pins?.some((pin) => pin.message.id === messageId)) {
    store.pins.set(chatId, pins.filter((pin) => pin.message.id !== messageId));
    store.emit('pins', chatId);
  }
  if (timelines.get(chatId)?.markDeleted(messageId)) store.emit('timeline', chatId);
  patchLastMessage(chatId, messageId, { content: '', deleted_at: new Date().toISOString() });
}

function patchLastMessage(chatId, messageId, changes) {
  const chat = store.chats.get(chatId);
  if (chat?.last_message?.id !== messageId) return;
  chat.last_message = { ...chat.last_message, ...changes };
  store.emit('chats');
}

// ---------------------------------------------------------------------------------------------
// Read marks and typing

/** Marks everything shown in a chat as read (debounced; when offline, `resumed` does it). */
export function markRead(chatId) {
  clearTimeout(readTimers.get(chatId));
  readTimers.set(chatId, setTimeout(() => sendRead(chatId), READ_DELAY_MS));
}

function sendRead(chatId) {
  clearTimeout(readTimers.get(chatId));
  readTimers.delete(chatId);
  const chat = store.chats.get(chatId);
  if (!chat) return;
  const seq = Math.max(chat.last_seq ?? 0, timelines.get(chatId)?.newestSeq ?? 0);
  if (seq <= (chat.last_read_seq ?? 0) && !chat.unread_count && !chat.unread_mentions) return;
  if (!sendFrame({ type: 'read', chat_id: chatId, seq })) return;
  chat.last_read_seq = seq;
  chat.unread_count = 0;
  chat.unread_mentions = 0;
  chat.first_unread_mention_seq = null;
  store.emit('chats');
}

/** Sends read marks still waiting (leaving a chat or the page must not lose them). */
export function flushReads() {
  for (const chatId of [...readTimers.keys()]) sendRead(chatId);
}
window.addEventListener('pagehide', flushReads);

/** Tells the others this user is typing (at most every few seconds). */
export function sendTyping(chatId) {
  const now = Date.now();
  if (now - (lastTypingSent.get(chatId) ?? 0) < TYPING_SEND_EVERY_MS) return;
  if (sendFrame({ type: 'typing', chat_id: chatId })) lastTypingSent.set(chatId, now);
}

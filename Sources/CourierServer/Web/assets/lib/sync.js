// Keeps the store in step with the server: loads the chat list and histories over REST, applies
// real-time frames, sends messages with acknowledgement, and resumes without gaps after a drop.
import * as api from './api.js';
import * as session from './session.js';
import * as users from './users.js';
import { RealtimeConnection } from './realtime.js';
import { store } from './store.js';
import { Timeline } from './timeline.js';

const PAGE_SIZE = 50;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 6000;
const READ_DELAY_MS = 250;

const timelines = new Map();
let realtime = null;
let chatListRefresh = null;
const lastTypingSent = new Map();
const readTimers = new Map();
/** In-flight summary requests, by chat id (several frames may ask for the same chat). */
const chatRefreshes = new Map();
/** Messages of chats not known yet (their summary is on the way), by chat id. */
const orphanMessages = new Map();

/** The timeline of a chat (created empty on first use). */
export function timeline(chatId) {
  if (!timelines.has(chatId)) timelines.set(chatId, new Timeline(chatId));
  return timelines.get(chatId);
}

/** Loads the chat list, then connects the WebSocket. */
export async function start(onSessionEnded) {
  await loadChats();
  realtime = new RealtimeConnection({
    resumeState,
    onFrame: handleFrame,
    onResumed,
    onStateChange(state) {
      store.connection = state;
      store.emit('connection');
      if (state !== 'online' && store.presence.size) {
        // Without a connection, who is online is unknown: show nothing rather than stale dots.
        store.presence.clear();
        store.emit('presence');
      }
    },
    verifySession: async () => setMe(await api.get('/users/me')),
    onSessionEnded,
  });
  realtime.start();
}

/** Disconnects and forgets (sign-out). */
export function stop() {
  realtime?.stop();
  realtime = null;
  timelines.clear();
  lastTypingSent.clear();
  orphanMessages.clear();
  for (const timer of readTimers.values()) clearTimeout(timer);
  readTimers.clear();
}

export function setMe(me) {
  store.me = me;
  store.emit('me');
}

// ---------------------------------------------------------------------------------------------
// Chats

/**
 * Normalizes a chat summary from the API into the store's shape. `others_read_seq` (how far the
 * others have read: ✓✓ up to there) comes from the summary's `others_last_read_seq` and then from
 * live `read` frames; it only moves forward.
 */
function normalizeChat(chat, previous) {
  const othersRead = Math.max(chat.others_last_read_seq ?? 0, previous?.others_read_seq ?? 0);
  return { ...previous, ...chat, others_read_seq: othersRead };
}

/** Fetches every chat (pages of 100) and merges them into the store. */
export async function loadChats() {
  const knownBefore = new Set(store.chats.keys());
  const fetched = [];
  for (let offset = 0; ; offset += 100) {
    const page = await api.get(`/chats${api.query({ limit: 100, offset })}`);
    fetched.push(...page.chats);
    if (!page.has_more || offset >= 900) break;
  }
  const seen = new Set();
  for (const chat of fetched) {
    seen.add(chat.id);
    mergeChat(chat);
  }
  // Chats we were removed from while away (not ones learnt while the list was on its way).
  for (const id of knownBefore) if (!seen.has(id)) forgetChat(id);
  store.chatsLoaded = true;
  store.emit('chats');
  await users.ensure(fetched.filter((c) => c.type === 'dm').map((c) => c.peer_id));
}

/**
 * Merges a summary from the server. A summary older than what real-time frames already told us
 * (a smaller last_seq) must not roll the preview or unread count back.
 */
function mergeChat(chat) {
  const current = store.chats.get(chat.id);
  const orphans = orphanMessages.get(chat.id);
  if (!current && chat.type === 'dm' && chat.peer_id && store.connection === 'online') {
    // A new DM: ask whether its person is online (presence frames only come on changes).
    realtime?.send({ type: 'subscribe_presence', user_ids: [chat.peer_id] });
  }
  if (current && (chat.last_seq ?? 0) < (current.last_seq ?? 0)) {
    const { last_seq, last_message, unread_count, last_read_seq, last_activity_at, ...rest } = chat;
    store.chats.set(chat.id, normalizeChat(rest, current));
  } else {
    store.chats.set(chat.id, normalizeChat(chat, current));
  }
  const t = timelines.get(chat.id);
  if (t?.loaded && (chat.last_seq ?? 0) > t.newestSeq) fillGap(chat.id);
  if (orphans) {
    // Messages that arrived before we knew the chat: those newer than the summary still count.
    orphanMessages.delete(chat.id);
    orphans.forEach(receiveMessage);
  }
}

/** Refreshes one chat's summary (after a membership or rename frame); one request per chat at a time. */
export function refreshChat(chatId) {
  if (!chatRefreshes.has(chatId)) {
    chatRefreshes.set(chatId, fetchChat(chatId).finally(() => chatRefreshes.delete(chatId)));
  }
  return chatRefreshes.get(chatId);
}

async function fetchChat(chatId) {
  try {
    const chat = await api.get(`/chats/${chatId}`);
    mergeChat(chat);
    if (chat.type === 'dm') await users.ensure([chat.peer_id]);
    store.emit('chats');
    return store.chats.get(chatId);
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404) {
      forgetChat(chatId);
      store.emit('chats');
      return null;
    }
    throw error;
  }
}

/** Adds a chat the user just created or joined, from a summary or by id. */
export async function addChat(chatOrId) {
  if (typeof chatOrId === 'string') return refreshChat(chatOrId);
  mergeChat(chatOrId);
  store.emit('chats');
  return store.chats.get(chatOrId.id);
}

function forgetChat(chatId) {
  orphanMessages.delete(chatId);
  store.chats.delete(chatId);
  timelines.delete(chatId);
  store.typing.delete(chatId);
}

/** Reloads the whole list soon, once (several frames may ask at once). */
function refreshChatListSoon() {
  chatListRefresh ??= new Promise((resolve) => setTimeout(resolve, 200))
    .then(() => loadChats())
    .catch(() => {})
    .finally(() => {
      chatListRefresh = null;
    });
  return chatListRefresh;
}

/** The name to show for a chat. */
export function chatTitle(chat) {
  if (!chat) return '';
  if (chat.type === 'dm') return users.nameOf(chat.peer_id);
  return chat.name || (chat.type === 'channel' ? 'Channel' : 'Group');
}

/** Whether the signed-in user may write in this chat. */
export function canPost(chat) {
  if (!chat) return false;
  return chat.type !== 'channel' || chat.role === 'owner' || chat.role === 'admin';
}

// ---------------------------------------------------------------------------------------------
// History

/** Loads the newest page of a chat's history (once). */
export async function openTimeline(chatId) {
  const t = timeline(chatId);
  if (t.loaded || t.loading) return t;
  t.loading = true;
  try {
    const page = await api.get(`/chats/${chatId}/messages${api.query({ limit: PAGE_SIZE })}`);
    t.merge(page.messages);
    t.loaded = true;
    t.hasOlder = page.has_more;
    await users.ensure(page.messages.map((m) => m.sender_id));
  } finally {
    t.loading = false;
  }
  store.emit('timeline', chatId);
  return t;
}

/** Loads the page before the oldest loaded message (scrolling up). */
export async function loadOlder(chatId) {
  const t = timeline(chatId);
  if (!t.loaded || !t.hasOlder || t.loadingOlder || t.oldestSeq === null) return;
  t.loadingOlder = true;
  store.emit('timeline', chatId);
  try {
    const page = await api.get(`/chats/${chatId}/messages${api.query({ limit: PAGE_SIZE, before_seq: t.oldestSeq })}`);
    t.merge(page.messages);
    t.hasOlder = page.has_more;
    await users.ensure(page.messages.map((m) => m.sender_id));
  } finally {
    t.loadingOlder = false;
    store.emit('timeline', chatId);
  }
}

const gapFills = new Map();

/** Fetches what is missing after the contiguous part of a loaded timeline. */
function fillGap(chatId) {
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

/** Sends a pending message over the socket; when offline it waits for the next `resumed`. */
function transmit(entry) {
  const frame = {
    type: 'message',
    ref: entry.client_msg_id,
    chat_id: entry.chat_id,
    content: entry.content,
    message_type: 'text',
    client_msg_id: entry.client_msg_id,
  };
  if (entry.reply_to_id) frame.reply_to_id = entry.reply_to_id;
  realtime?.send(frame);
}

/** Sends a failed message again (same client_msg_id: the server never stores it twice). */
export function retry(chatId, clientMsgId) {
  const entry = timeline(chatId).findPending(clientMsgId);
  if (!entry) return;
  entry.state = 'pending';
  entry.error = null;
  store.emit('timeline', chatId);
  transmit(entry);
}

export function discard(chatId, clientMsgId) {
  if (timeline(chatId).discard(clientMsgId)) store.emit('timeline', chatId);
}

export async function editMessage(message, content) {
  const edited = await api.patch(`/messages/${message.id}`, { content });
  applyEdited(edited);
  return edited;
}

export async function deleteMessage(message, scope) {
  await api.del(`/messages/${message.id}${api.query({ for: scope })}`);
  const t = timeline(message.chat_id);
  const changed = scope === 'me' ? t.remove(message.id) : t.markDeleted(message.id);
  if (scope !== 'me') patchLastMessage(message.chat_id, message.id, { content: '', deleted_at: new Date().toISOString() });
  if (changed) store.emit('timeline', message.chat_id);
}

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
  if (seq <= (chat.last_read_seq ?? 0) && !chat.unread_count) return;
  if (!realtime?.send({ type: 'read', chat_id: chatId, seq })) return;
  chat.last_read_seq = seq;
  chat.unread_count = 0;
  store.emit('chats');
}

// Leaving the page (or the chat, see conversation.js) must not lose a read mark still waiting.
export function flushReads() {
  for (const chatId of [...readTimers.keys()]) sendRead(chatId);
}
window.addEventListener('pagehide', flushReads);

/** Tells the others this user is typing (at most every few seconds). */
export function sendTyping(chatId) {
  const now = Date.now();
  if (now - (lastTypingSent.get(chatId) ?? 0) < TYPING_SEND_EVERY_MS) return;
  if (realtime?.send({ type: 'typing', chat_id: chatId })) lastTypingSent.set(chatId, now);
}

/** Whether the user is looking at this chat right now (then new messages are read at once). */
function isViewing(chatId) {
  return store.activeChatId === chatId && document.visibilityState === 'visible';
}

// ---------------------------------------------------------------------------------------------
// Real time

/** The newest seq this device has per chat: where the server's resume continues from. */
function resumeState() {
  const chats = {};
  for (const chat of store.chats.values()) {
    const t = timelines.get(chat.id);
    chats[chat.id] = t?.loaded && t.messages.length ? t.contiguousSeq : chat.last_seq ?? 0;
  }
  return chats;
}

function onResumed(_frame, isReconnect) {
  // Messages typed while offline, or whose ack the drop swallowed (safe: client_msg_id dedupes;
  // those the resume already delivered were settled by their new_message).
  for (const t of timelines.values()) for (const entry of t.unacknowledged()) transmit(entry);
  if (store.activeChatId) markRead(store.activeChatId);
  subscribePresence();
  // Chats created, joined or left while away, and exact unread counts.
  if (isReconnect) refreshChatListSoon().then(subscribePresence);
}

function subscribePresence() {
  const peers = [...store.chats.values()].filter((c) => c.type === 'dm' && c.peer_id).map((c) => c.peer_id);
  if (peers.length) realtime?.send({ type: 'subscribe_presence', user_ids: peers.slice(0, 200) });
}

function handleFrame(frame) {
  switch (frame.type) {
    case 'new_message':
      return receiveMessage(frame.message);
    case 'message_edited':
      return applyEdited(frame.message);
    case 'message_deleted':
      return applyDeleted(frame);
    case 'ack':
      return receiveAck(frame);
    case 'read':
      return receiveRead(frame);
    case 'typing':
      return receiveTyping(frame);
    case 'presence':
      store.presence.set(frame.user_id, { online: frame.online, last_seen: frame.last_seen ?? null });
      return store.emit('presence');
    case 'chat_created':
    case 'member_added':
    case 'chat_updated':
      return refreshChat(frame.chat_id).catch(() => {});
    case 'member_removed':
      if ((frame.user_ids ?? []).includes(store.me?.id)) {
        forgetChat(frame.chat_id);
        return store.emit('chats');
      }
      return refreshChat(frame.chat_id).catch(() => {});
    default:
      return undefined; // 'error' frames and future types: nothing to show
  }
}

function receiveMessage(message) {
  const chat = store.chats.get(message.chat_id);
  if (!chat) {
    // A chat we do not know yet (just created, its summary on the way): keep the message until
    // the summary is merged, so that nothing newer than the summary is lost.
    if (!orphanMessages.has(message.chat_id)) orphanMessages.set(message.chat_id, []);
    orphanMessages.get(message.chat_id).push(message);
    refreshChat(message.chat_id).catch(() => {});
    return;
  }
  const t = timelines.get(chat.id);
  if (t) {
    const gap = t.hasGapBefore(message.seq);
    if (t.merge([message])) store.emit('timeline', chat.id);
    if (gap) fillGap(chat.id);
  }
  if (message.sender_id && !store.users.has(message.sender_id)) users.ensure([message.sender_id]);
  stopTyping(chat.id, message.sender_id);
  if (message.seq > (chat.last_seq ?? 0)) {
    chat.last_seq = message.seq;
    chat.last_message = message;
    chat.last_activity_at = message.created_at;
    if (message.sender_id === store.me?.id) {
      chat.unread_count = 0;
      chat.last_read_seq = message.seq;
    } else if (isViewing(chat.id)) {
      markRead(chat.id);
    } else {
      chat.unread_count = (chat.unread_count ?? 0) + 1;
    }
    store.emit('chats');
  }
}

function receiveAck(frame) {
  if (!frame.client_msg_id) return; // acks of read frames need nothing
  if (frame.error) {
    for (const t of timelines.values()) {
      if (t.fail(frame.client_msg_id, frame.error.message)) store.emit('timeline', t.chatId);
    }
    return;
  }
  if (frame.message) receiveMessage(frame.message);
}

function applyEdited(message) {
  const t = timelines.get(message.chat_id);
  if (t?.update(message)) store.emit('timeline', message.chat_id);
  patchLastMessage(message.chat_id, message.id, message);
}

function applyDeleted({ chat_id: chatId, message_id: messageId }) {
  const t = timelines.get(chatId);
  if (t?.markDeleted(messageId)) store.emit('timeline', chatId);
  patchLastMessage(chatId, messageId, { content: '', deleted_at: new Date().toISOString() });
}

function patchLastMessage(chatId, messageId, changes) {
  const chat = store.chats.get(chatId);
  if (chat?.last_message?.id !== messageId) return;
  chat.last_message = { ...chat.last_message, ...changes };
  store.emit('chats');
}

function receiveRead({ chat_id: chatId, user_id: userId, seq }) {
  const chat = store.chats.get(chatId);
  if (!chat) return;
  if (userId === store.me?.id) {
    // Read on another device of ours.
    chat.last_read_seq = Math.max(chat.last_read_seq ?? 0, seq);
    if (seq >= (chat.last_seq ?? 0)) chat.unread_count = 0;
  } else {
    chat.others_read_seq = Math.max(chat.others_read_seq ?? 0, seq);
    store.emit('timeline', chatId);
  }
  store.emit('chats');
}

function receiveTyping({ chat_id: chatId, user_id: userId }) {
  if (userId === store.me?.id) return;
  if (!store.typing.has(chatId)) store.typing.set(chatId, new Map());
  const until = Date.now() + TYPING_SHOWN_MS;
  store.typing.get(chatId).set(userId, until);
  users.ensure([userId]);
  store.emit('typing', chatId);
  setTimeout(() => {
    if (store.typing.get(chatId)?.get(userId) === until) stopTyping(chatId, userId);
  }, TYPING_SHOWN_MS);
}

function stopTyping(chatId, userId) {
  if (store.typing.get(chatId)?.delete(userId)) store.emit('typing', chatId);
}

/** Names of people typing in a chat now. */
export function typingNames(chatId) {
  return [...(store.typing.get(chatId)?.keys() ?? [])].map((id) => users.nameOf(id));
}

/** Signs out on the server (best effort) and here. */
export async function signOut() {
  try {
    await api.post('/auth/logout');
  } catch {
    // Already signed out, or offline: forgetting the tokens here is what matters.
  }
  stop();
  users.forget();
  session.clear();
}

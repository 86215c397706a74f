// Chat summaries in the store: the list from the server, merged with what real-time frames tell
// in between, without ever rolling a newer state back.
import * as api from './api.js';
import * as messages from './messages.js';
import * as users from './users.js';
import { isOnline, sendFrame } from './socket.js';
import { store } from './store.js';

let listRefresh = null;
/** In-flight summary requests, by chat id (several frames may ask for the same chat). */
const chatRefreshes = new Map();

/**
 * A chat summary from the API in the store's shape. `others_read_seq` (how far the others have
 * read: ✓✓ up to there) comes from the summary's `others_last_read_seq` and then from live `read`
 * frames; it only moves forward.
 */
function normalize(chat, previous) {
  const othersRead = Math.max(chat.others_last_read_seq ?? 0, previous?.others_read_seq ?? 0);
  // A summary (it has the reader's role) leaves out what is unset: unset it here too.
  const unset = 'role' in chat ? { pinned_at: null, muted_until: null, archived: false, draft: null, unread_mentions: 0, first_unread_mention_seq: null } : {};
  return { ...previous, ...unset, ...chat, others_read_seq: othersRead };
}

/** Whether the chat is muted now (its unread count does not alert, nothing notifies). */
export function isMuted(chat) {
  return Boolean(chat?.muted_until) && new Date(chat.muted_until) > new Date();
}

/** Changes the reader's own settings of a chat: `{pinned}`, `{mute: '1h' | '8h' | 'forever' | 'off'}`, `{archived}`. */
export async function changeSettings(chatId, change) {
  const settings = await api.patch(`/chats/${chatId}/settings`, change);
  applySettings(chatId, settings);
}

/** Settings of a chat as they are now (ours, or a chat_settings_changed update from another device). */
export function applySettings(chatId, { pinned_at: pinnedAt = null, muted_until: mutedUntil = null, archived = false }) {
  const chat = store.chats.get(chatId);
  if (!chat) return;
  store.chats.set(chatId, { ...chat, pinned_at: pinnedAt, muted_until: mutedUntil, archived });
  store.emit('chats');
}

/** Keeps the draft of a chat on the server (for the reader's other devices), when it changed. */
export async function saveDraft(chatId, text) {
  const chat = store.chats.get(chatId);
  if (!chat || (chat.draft ?? '') === text) return;
  chat.draft = text || null;
  store.emit('chats');
  await api.request('PUT', `/chats/${chatId}/draft`, { body: { text } });
}

/** Fetches every chat (pages of 100) and merges them into the store, with their positions in the
 *  update log (and the user's own position, read before the list: catching up starts there). */
export async function loadChats() {
  const knownBefore = new Set(store.chats.keys());
  const fetched = [];
  let accountPts = null;
  for (let offset = 0; ; offset += 100) {
    const page = await api.get(`/chats${api.query({ limit: 100, offset })}`);
    accountPts ??= page.account_pts;
    fetched.push(...page.chats);
    if (!page.has_more || offset >= 900) break;
  }
  if (accountPts !== null && accountPts !== undefined) store.accountPts = Math.max(store.accountPts ?? 0, accountPts);
  const seen = new Set();
  for (const chat of fetched) {
    seen.add(chat.id);
    merge(chat, { takePosition: !store.chats.has(chat.id) });
  }
  // Chats we were removed from while away (not ones learnt while the list was on its way).
  for (const id of knownBefore) if (!seen.has(id)) forget(id);
  store.chatsLoaded = true;
  store.emit('chats');
  await users.ensure(fetched.filter((c) => c.type === 'dm').map((c) => c.peer_id));
}

/** Reloads the whole list soon, once (several frames may ask at once). */
export function loadChatsSoon() {
  listRefresh ??= new Promise((resolve) => setTimeout(resolve, 200))
    .then(() => loadChats())
    .catch(() => {})
    .finally(() => {
      listRefresh = null;
    });
  return listRefresh;
}

/**
 * Merges a summary from the server. A summary older than what real-time frames already told us
 * (a smaller last_seq) must not roll the preview or unread count back. A chat seen for the first
 * time is announced as 'chat-known' (messages that came before it are waiting for that).
 *
 * The chat's position in the update log is taken from the summary only for a chat new here (or
 * one reloaded on purpose): for a chat this device follows, the log brings every change in order,
 * and jumping to a summary's position would skip the edits and deletions in between.
 */
function merge(chat, { takePosition = false } = {}) {
  // DM summaries carry the other person's profile: no request per person on a cold start.
  if (chat.peer) users.remember([chat.peer]);
  const current = store.chats.get(chat.id);
  if (!current && chat.type === 'dm' && chat.peer_id && isOnline()) {
    // A new DM: ask whether its person is online (presence frames only come on changes).
    sendFrame({ type: 'subscribe_presence', user_ids: [chat.peer_id] });
  }
  const position = takePosition || !current ? chat.pts ?? 0 : current.pts ?? 0;
  if (current && (chat.last_seq ?? 0) < (current.last_seq ?? 0)) {
    const { last_seq, last_message, unread_count, last_read_seq, last_activity_at, ...rest } = chat;
    store.chats.set(chat.id, { ...normalize(rest, current), pts: position });
  } else {
    store.chats.set(chat.id, { ...normalize(chat, current), pts: position });
  }
  messages.catchUp(chat.id, chat.last_seq ?? 0);
  if (!current) store.emit('chat-known', chat.id);
}

/** Refreshes one chat's summary (after a membership or rename update; with `takePosition`, a chat
 *  joined or reloaded, whose position then comes from the summary); one request per chat at a time. */
export function refreshChat(chatId, options = {}) {
  if (!chatRefreshes.has(chatId)) {
    chatRefreshes.set(chatId, fetchChat(chatId, options).finally(() => chatRefreshes.delete(chatId)));
  }
  return chatRefreshes.get(chatId);
}

async function fetchChat(chatId, options) {
  try {
    const chat = await api.get(`/chats/${chatId}`);
    merge(chat, options);
    if (chat.type === 'dm') await users.ensure([chat.peer_id]);
    store.emit('chats');
    return store.chats.get(chatId);
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404) {
      removeChat(chatId);
      return null;
    }
    throw error;
  }
}

/** Adds a chat the user just created or joined, from a summary or by id. */
export async function addChat(chatOrId) {
  if (typeof chatOrId === 'string') return refreshChat(chatOrId);
  merge(chatOrId);
  store.emit('chats');
  return store.chats.get(chatOrId.id);
}

/** Removes a chat the user left or was removed from (asking the server would only get a 404). */
export function removeChat(chatId) {
  forget(chatId);
  store.emit('chats');
}

function forget(chatId) {
  store.chats.delete(chatId);
  store.typing.delete(chatId);
  messages.dropTimeline(chatId);
  store.emit('chat-gone', chatId);
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

/** Names of people typing in a chat now. */
export function typingNames(chatId) {
  return [...(store.typing.get(chatId)?.keys() ?? [])].map((id) => users.nameOf(id));
}

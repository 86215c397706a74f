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
    merge(chat);
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
 */
function merge(chat) {
  // DM summaries carry the other person's profile: no request per person on a cold start.
  if (chat.peer) users.remember([chat.peer]);
  const current = store.chats.get(chat.id);
  if (!current && chat.type === 'dm' && chat.peer_id && isOnline()) {
    // A new DM: ask whether its person is online (presence frames only come on changes).
    sendFrame({ type: 'subscribe_presence', user_ids: [chat.peer_id] });
  }
  if (current && (chat.last_seq ?? 0) < (current.last_seq ?? 0)) {
    const { last_seq, last_message, unread_count, last_read_seq, last_activity_at, ...rest } = chat;
    store.chats.set(chat.id, normalize(rest, current));
  } else {
    store.chats.set(chat.id, normalize(chat, current));
  }
  messages.catchUp(chat.id, chat.last_seq ?? 0);
  if (!current) store.emit('chat-known', chat.id);
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
    merge(chat);
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

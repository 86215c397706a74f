// Keeps this device in step with the server: loads the chat list, connects the WebSocket, and
// applies the update log to the store (through chats.js for summaries and messages.js for
// timelines). Each update has a position: in a chat's log (`pts`) or in the user's own
// (`account_pts`). An update is applied only when it is the next one; one seen before is ignored,
// and one further on shows a gap, which a catch-up (`resume`) fills. So an edit, a deletion, a
// read mark or a membership change made while this tab was offline shows without a reload.
// Call frames (`call_*`, and the acks of the frames calls.js sent) go to calls.js.
import * as api from './api.js';
import * as bots from './bots.js';
import * as calls from './calls.js';
import * as chats from './chats.js';
import * as messages from './messages.js';
import * as session from './session.js';
import * as users from './users.js';
import * as notifications from './notifications.js';
import { forgetLinks } from './media-links.js';
import { RealtimeConnection } from './realtime.js';
import { sendFrame, setConnection } from './socket.js';
import { store } from './store.js';

const TYPING_SHOWN_MS = 6000;

let realtime = null;
let unsubscribe = [];
/** Messages of chats not known yet (their summary is on the way), by chat id. */
const orphans = new Map();

/** Loads the chat list, then connects the WebSocket. */
export async function start(onSessionEnded) {
  unsubscribe = [
    notifications.watchUnread(),
    store.on('chat-known', adoptOrphans),
    store.on('chat-gone', (chatId) => orphans.delete(chatId)),
  ];
  await chats.loadChats();
  realtime = new RealtimeConnection({
    resumeState,
    onFrame: handleFrame,
    onResumed,
    onStateChange(state) {
      store.connection = state;
      store.emit('connection');
      // Connected (again): a call may have started, been answered or ended meanwhile.
      if (state === 'online') calls.reconcile();
      if (state !== 'online' && store.presence.size) {
        // Without a connection, who is online is unknown: show nothing rather than stale dots.
        store.presence.clear();
        store.emit('presence');
      }
    },
    verifySession: async () => setMe(await api.get('/users/me')),
    onSessionEnded,
  });
  setConnection(realtime);
  realtime.start();
}

/** Disconnects and forgets (sign-out). */
export function stop() {
  calls.reset(); // hangs up a call under way while the connection is still there
  realtime?.stop();
  realtime = null;
  setConnection(null);
  unsubscribe.forEach((off) => off());
  unsubscribe = [];
  orphans.clear();
  messages.reset();
  bots.forgetCommands();
  forgetLinks(); // signed for this user: not for whoever signs in next
}

export function setMe(me) {
  store.me = me;
  store.emit('me');
}

/** Signs out on the server (best effort) and here. */
export async function signOut() {
  calls.reset(); // a call under way is hung up while the session still may
  try {
    await api.post('/auth/logout');
  } catch {
    // Already signed out, or offline: forgetting the tokens here is what matters.
  }
  stop();
  users.forget();
  session.clear();
}

// ---------------------------------------------------------------------------------------------
// Connecting and resuming

/** Chats where a gap showed: the next catch-up names them first. */
const gapped = new Set();

/** This device's positions in the update log: where the server's catch-up continues from. */
function resumeState() {
  const state = {};
  for (const chat of store.chats.values()) state[chat.id] = chat.pts ?? 0;
  return { account: store.accountPts ?? null, chats: state, first: [...gapped] };
}

function onResumed(frame) {
  if (frame.account_pts !== undefined) store.accountPts = frame.account_pts;
  for (const [chatId, pts] of Object.entries(frame.chats ?? {})) {
    const chat = store.chats.get(chatId);
    if (chat) chat.pts = Math.max(chat.pts ?? 0, pts);
    gapped.delete(chatId);
  }
  for (const chatId of frame.left ?? []) chats.removeChat(chatId);
  // Further behind than the server keeps, or a position it never issued: load these afresh.
  for (const chatId of [...(frame.too_long ?? []), ...(frame.invalid_position ?? [])]) reloadChat(chatId);
  if (frame.account_too_long) chats.loadChatsSoon().then(subscribePresence);
  if (frame.more) {
    realtime?.resume();
    return;
  }
  catchingUp = false;
  messages.resendUnacknowledged();
  if (store.activeChatId) messages.markRead(store.activeChatId);
  subscribePresence();
  store.emit('chats');
}

/** Loads a chat afresh (summary, and history when it is shown), its position from the summary. */
function reloadChat(chatId) {
  messages.dropTimeline(chatId);
  chats.refreshChat(chatId, { takePosition: true }).then(() => {
    if (store.activeChatId === chatId) messages.openTimeline(chatId);
  }).catch(() => {});
}

let catchingUp = false;

/** A gap showed: catch up (once at a time; `resumed` ends it). */
function catchUpNow() {
  if (catchingUp) return;
  catchingUp = realtime?.resume() ?? false;
}

function subscribePresence() {
  const peers = [...store.chats.values()].filter((c) => c.type === 'dm' && c.peer_id).map((c) => c.peer_id);
  if (peers.length) sendFrame({ type: 'subscribe_presence', user_ids: peers.slice(0, 200) });
}

// ---------------------------------------------------------------------------------------------
// Frames

/** Whether the update in `frame` is the next one of its log (then its position is taken). One seen
 *  before, or one after a gap (a catch-up is asked for; it brings this one again), is not applied. */
function takePosition(frame) {
  if (frame.account_pts !== undefined) {
    const held = store.accountPts;
    if (held === null || held === undefined || frame.account_pts === held + 1) {
      store.accountPts = frame.account_pts;
      return true;
    }
    if (frame.account_pts > held) catchUpNow();
    return false;
  }
  if (frame.pts === undefined || !frame.chat_id) return true; // not an update of the log
  const chat = store.chats.get(frame.chat_id);
  if (!chat) return true; // a chat not known yet: its summary (with its position) is on the way
  const held = chat.pts ?? 0;
  if (frame.pts === held + 1) {
    chat.pts = frame.pts;
    return true;
  }
  if (frame.pts > held) {
    gapped.add(frame.chat_id);
    catchUpNow();
  }
  return false;
}

function handleFrame(frame) {
  if (frame.type?.startsWith('call_')) return calls.handleFrame(frame); // not in the update log
  if (frame.type === 'ack' && calls.takeAck(frame)) return undefined;
  if (frame.type !== 'ack' && !takePosition(frame)) return;
  switch (frame.type) {
    // Without `message`: a message this user deleted for themselves (its position still counts).
    case 'new_message':
      return frame.message ? receiveMessage(frame.message) : undefined;
    case 'message_edited':
      return frame.message ? messages.applyEdited(frame.message) : undefined;
    case 'message_deleted':
      return messages.applyDeleted(frame.chat_id, frame.message_id);
    case 'ack':
      return receiveAck(frame);
    case 'read':
      return receiveRead(frame);
    case 'typing':
      return receiveTyping(frame);
    case 'presence':
      store.presence.set(frame.user_id, { online: frame.online, last_seen: frame.last_seen ?? null });
      return store.emit('presence');
    case 'chat_joined':
      return chats.refreshChat(frame.chat_id, { takePosition: true }).catch(() => {});
    case 'chat_left':
      return chats.removeChat(frame.chat_id);
    case 'member_added':
    case 'role_changed':
    case 'chat_updated':
      return chats.refreshChat(frame.chat_id).catch(() => {});
    case 'member_removed':
      if (frame.user_id === store.me?.id) return undefined; // chat_left follows in our own log
      return chats.refreshChat(frame.chat_id).catch(() => {});
    case 'message_hidden':
      return messages.applyHidden(frame.chat_id, frame.message_id);
    case 'reaction_changed':
      return messages.applyReaction(frame);
    case 'message_pinned':
    case 'message_unpinned':
      // Only chats whose pins were loaded (shown once) keep them; others load them when shown.
      return store.pins.has(frame.chat_id) ? messages.loadPins(frame.chat_id).catch(() => {}) : undefined;
    case 'chat_settings_changed':
      return chats.applySettings(frame.chat_id, frame);
    case 'draft_changed':
      return chats.refreshChat(frame.chat_id).catch(() => {});
    case 'premium_changed':
      return api.get('/users/me').then(setMe).catch(() => {});
    default:
      return undefined; // 'error' frames and future types: nothing to show
  }
}

function receiveMessage(message) {
  const chat = store.chats.get(message.chat_id);
  // Sending marks the chat read for the sender: their message is their read mark too (live ✓✓).
  if (chat && message.sender_id && message.sender_id !== store.me?.id && message.seq > (chat.others_read_seq ?? 0)) {
    chat.others_read_seq = message.seq;
    store.emit('timeline', chat.id);
  }
  if (!chat) {
    // A chat we do not know yet (just created, its summary on the way): keep the message until
    // the summary is merged, so that nothing newer than the summary is lost.
    if (!orphans.has(message.chat_id)) orphans.set(message.chat_id, []);
    orphans.get(message.chat_id).push(message);
    chats.refreshChat(message.chat_id).catch(() => {});
    return;
  }
  messages.addArrived(message);
  if (message.sender_id && !store.users.has(message.sender_id)) users.ensure([message.sender_id]);
  stopTyping(chat.id, message.sender_id);
  if (message.seq <= (chat.last_seq ?? 0)) return; // the summary already counts it
  chat.last_seq = message.seq;
  chat.last_message = message;
  chat.last_activity_at = message.created_at;
  if (message.sender_id === store.me?.id) {
    chat.unread_count = 0;
    chat.last_read_seq = message.seq;
  } else if (store.activeChatId === chat.id && document.visibilityState === 'visible') {
    messages.markRead(chat.id); // being looked at: read at once
  } else {
    chat.unread_count = (chat.unread_count ?? 0) + 1;
    if (mentionsMe(message)) {
      chat.unread_mentions = (chat.unread_mentions ?? 0) + 1;
      chat.first_unread_mention_seq ??= message.seq;
    }
    notifications.notify(chat, message);
  }
  store.emit('chats');
}

/** A chat's summary arrived: the messages that came before it count if they are newer. */
function adoptOrphans(chatId) {
  const waiting = orphans.get(chatId);
  if (!waiting) return;
  orphans.delete(chatId);
  waiting.forEach(receiveMessage);
}

function receiveAck(frame) {
  // The change this device made took the next position of its log: keep step (or catch up).
  const positioned = frame.account_pts !== undefined
    || (frame.pts !== undefined && (frame.chat_id ?? frame.message?.chat_id));
  if (positioned) takePosition({ ...frame, chat_id: frame.chat_id ?? frame.message?.chat_id });
  if (!frame.client_msg_id) return; // acks of read, edit and delete frames need nothing more
  if (frame.error) messages.failPending(frame.client_msg_id, frame.error.message);
  else if (frame.message) receiveMessage(frame.message);
}

/** Whether a message names this user (`@username`; the server counts only members, and whoever
 *  receives it is one). */
function mentionsMe(message) {
  const name = store.me?.username;
  if (!name || message.sender_id === store.me?.id) return false;
  return new RegExp(`(^|[^A-Za-z0-9_])@${name}(?![A-Za-z0-9_])`, 'i').test(message.content ?? '');
}

function receiveRead({ chat_id: chatId, user_id: userId, seq }) {
  const chat = store.chats.get(chatId);
  if (!chat) return;
  if (userId === store.me?.id) {
    // Read on another device of ours.
    chat.last_read_seq = Math.max(chat.last_read_seq ?? 0, seq);
    if (seq >= (chat.last_seq ?? 0)) chat.unread_count = 0;
    if ((chat.first_unread_mention_seq ?? Infinity) <= seq) {
      chat.unread_mentions = 0; // the mentions after the mark are few: the next summary recounts them
      chat.first_unread_mention_seq = null;
    }
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

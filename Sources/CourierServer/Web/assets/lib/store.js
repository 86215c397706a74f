// The client's state, in one place, with change notifications by topic. Views read from it and
// re-render on the topics they show; only `sync.js` (and the views' own actions) change it.
//
// Topics: 'me', 'chats' (the list), 'timeline' (detail: chat id), 'users', 'presence', 'typing'
// (detail: chat id), 'connection', 'call', 'pins' (detail: chat id).

class Store {
  /** The signed-in user's profile. */
  me = null;
  /** Chat summaries by id, as `GET /chats` returns them, kept current by real-time frames. */
  chats = new Map();
  /** Public profiles by user id. */
  users = new Map();
  /** user id → {online, last_seen} */
  presence = new Map();
  /** chat id → Map(user id → time the indicator expires) */
  typing = new Map();
  /** 'connecting' | 'online' | 'reconnecting' | 'offline' */
  connection = 'connecting';
  /** chat id → its pinned messages, newest pin first ({message, pinned_at, pinned_by}), once loaded. */
  pins = new Map();
  /** A message to show once its chat is open ({chatId, messageId}): a search hit clicked. */
  jumpTo = null;
  /** The chat shown in the conversation pane, if any. */
  activeChatId = null;
  /** Whether the chat list was loaded once (before that, a chat missing from it may still come). */
  chatsLoaded = false;
  /** This device's position in the user's own update log (chat positions are each chat's `pts`). */
  accountPts = null;
  /** The call this tab shows (placing, ringing, in progress, or just ended), or null; calls.js
   *  keeps it, see there for its fields. */
  call = null;

  #listeners = new Map();

  /** Calls `listener(detail)` on each emit of `topic`; returns the unsubscribe function. */
  on(topic, listener) {
    if (!this.#listeners.has(topic)) this.#listeners.set(topic, new Set());
    this.#listeners.get(topic).add(listener);
    return () => this.#listeners.get(topic)?.delete(listener);
  }

  emit(topic, detail) {
    for (const listener of this.#listeners.get(topic) ?? []) {
      try {
        listener(detail);
      } catch (error) {
        // One broken view must not stop the others from updating.
        console.warn('courier: a listener failed', error);
      }
    }
  }

  /** Chats: pinned ones first (the latest pinned on top), then newest activity first (as Telegram orders them). */
  sortedChats() {
    return [...this.chats.values()].sort((a, b) => {
      if (Boolean(a.pinned_at) !== Boolean(b.pinned_at)) return a.pinned_at ? -1 : 1;
      if (a.pinned_at && b.pinned_at && a.pinned_at !== b.pinned_at) return b.pinned_at.localeCompare(a.pinned_at);
      return activity(b).localeCompare(activity(a));
    });
  }

  /** Forgets everything (sign-out). */
  reset() {
    this.me = null;
    this.chats.clear();
    this.users.clear();
    this.presence.clear();
    this.typing.clear();
    this.connection = 'connecting';
    this.activeChatId = null;
    this.chatsLoaded = false;
    this.accountPts = null;
    this.call = null;
  }
}

function activity(chat) {
  return chat.last_message?.created_at ?? chat.last_activity_at ?? chat.created_at ?? '';
}

export const store = new Store();

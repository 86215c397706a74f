// One chat's messages as this device has them: confirmed messages ordered by `seq`, plus own
// messages still waiting for the server's ack. A pure data structure (no I/O), so the merge rules
// that make delivery gap-free and duplicate-free live in one testable place.

export class Timeline {
  constructor(chatId) {
    this.chatId = chatId;
    /** Confirmed messages, ascending `seq`, no duplicates. */
    this.messages = [];
    /** Own messages not yet acknowledged: {client_msg_id, content, reply_to_id, created_at, state,
     *  error}; with media also `uploads` (state 'uploading' until they are all done). */
    this.pending = [];
    /** Whether the newest page was loaded (before that, only the chat summary is known). */
    this.loaded = false;
    /** Whether older messages exist than the first one here. */
    this.hasOlder = false;
    this.loadingOlder = false;
  }

  get oldestSeq() {
    return this.messages.length ? this.messages[0].seq : null;
  }

  get newestSeq() {
    return this.messages.length ? this.messages[this.messages.length - 1].seq : 0;
  }

  /**
   * The newest `seq` up to which this timeline has every message since its oldest one: what a
   * resume asks the server to continue from. A hole (a message arrived ahead of its predecessors)
   * stops it, so the resume fills the hole.
   */
  get contiguousSeq() {
    if (!this.messages.length) return 0;
    let seq = this.messages[0].seq;
    for (let i = 1; i < this.messages.length; i++) {
      if (this.messages[i].seq !== seq + 1) break;
      seq = this.messages[i].seq;
    }
    return seq;
  }

  /** Whether a message with `seq` arrived after a hole. */
  hasGapBefore(seq) {
    return this.loaded && this.messages.length > 0 && seq > this.newestSeq + 1;
  }

  /**
   * Adds or updates messages (any order, duplicates allowed); settles matching pending ones.
   * Returns true when something changed.
   */
  merge(messages) {
    let changed = false;
    for (const message of messages) {
      if (message.chat_id !== this.chatId) continue;
      changed = this.#settle(message.client_msg_id) || changed;
      const index = this.#indexOf(message.seq);
      if (index.found) {
        const current = this.messages[index.at];
        // Keep the newest version (an edit or a tombstone may arrive after the original).
        if (version(message) >= version(current) && !sameMessage(current, message)) {
          this.messages[index.at] = message;
          changed = true;
        }
      } else {
        this.messages.splice(index.at, 0, message);
        changed = true;
      }
    }
    return changed;
  }

  /** Replaces a message by id (an edit); false when it is not here. */
  update(message) {
    const at = this.messages.findIndex((m) => m.id === message.id);
    if (at < 0) return false;
    this.messages[at] = message;
    return true;
  }

  /** Turns a message into a tombstone (deleted for everyone). */
  markDeleted(messageId, deletedAt = new Date().toISOString()) {
    const at = this.messages.findIndex((m) => m.id === messageId);
    if (at < 0) return false;
    this.messages[at] = { ...this.messages[at], content: '', attachments: [], media: [], deleted_at: deletedAt };
    return true;
  }

  /** Removes a message from this device's view (deleted for me). */
  remove(messageId) {
    const before = this.messages.length;
    this.messages = this.messages.filter((m) => m.id !== messageId);
    return this.messages.length !== before;
  }

  findById(id) {
    return this.messages.find((m) => m.id === id) ?? null;
  }

  addPending(entry) {
    this.pending.push({ state: 'pending', error: null, ...entry });
  }

  findPending(clientMsgId) {
    return this.pending.find((p) => p.client_msg_id === clientMsgId) ?? null;
  }

  /** Marks a pending message failed (the server refused it). */
  fail(clientMsgId, error) {
    const entry = this.findPending(clientMsgId);
    if (!entry) return false;
    entry.state = 'failed';
    entry.error = error;
    return true;
  }

  discard(clientMsgId) {
    const before = this.pending.length;
    this.pending = this.pending.filter((p) => p.client_msg_id !== clientMsgId);
    return before !== this.pending.length;
  }

  /** Pending messages that should be (re)sent: not failed, not still uploading. */
  unacknowledged() {
    return this.pending.filter((p) => p.state === 'pending');
  }

  #settle(clientMsgId) {
    return clientMsgId ? this.discard(clientMsgId) : false;
  }

  /** Binary search by seq: {found, at}. */
  #indexOf(seq) {
    let low = 0;
    let high = this.messages.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.messages[mid].seq < seq) low = mid + 1;
      else high = mid;
    }
    return { found: this.messages[low]?.seq === seq, at: low };
  }
}

/** Later edits and deletions win over earlier versions of the same message. */
function version(message) {
  return Math.max(Date.parse(message.updated_at ?? '') || 0, Date.parse(message.deleted_at ?? '') || 0, Date.parse(message.edited_at ?? '') || 0);
}

/** Whether two copies show the same: text, edit and deletion, and a bot's buttons (which a bot may
 *  change alone). */
function sameMessage(a, b) {
  return a.id === b.id && a.content === b.content && a.edited_at === b.edited_at && a.deleted_at === b.deleted_at
    && JSON.stringify(a.metadata?.reply_markup ?? null) === JSON.stringify(b.metadata?.reply_markup ?? null);
}

// One conversation: header (name, presence or typing), history with date separators and
// infinite scroll upwards, live messages, pending → sent → read ticks, reply, edit, delete, and
// media: files attached (button, drag and drop, paste), voice notes recorded, photos, videos,
// voice notes and files shown in their bubbles, photos opened in a viewer. In a DM, call and video
// call buttons, and the lines calls leave worded for this side ("Missed call", "Outgoing call · 3:21").
// Bots: their badge, the buttons under their messages, and the "/" menu of their commands.
//
// Message rows (built in message-rows.js) are keyed and reused between renders, so a live message
// or an ack touches only its own row: focus, text selection and open menus elsewhere survive.
// A message's media element is kept apart and moved into a rebuilt row, so a tick turning ✓✓
// neither reloads its photos nor stops its video.
import * as api from '../lib/api.js';
import * as calls from '../lib/calls.js';
import * as chats from '../lib/chats.js';
import * as messages from '../lib/messages.js';
import * as users from '../lib/users.js';
import { choose } from '../lib/dialog.js';
import { h, perFrame, replaceChildren } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { showMenu } from '../lib/menu.js';
import { callSummary, colorClass, count, dayKey, dayLabel, initials, lastSeen, preview } from '../lib/format.js';
import { keyboardKey } from '../lib/inline-keyboard.js';
import { href } from '../lib/router.js';
import { store } from '../lib/store.js';
import { Upload } from '../lib/uploads.js';
import { attachmentTray } from './attachment-tray.js';
import { botBadge } from './bot-badge.js';
import { showChatInfo } from './chat-info.js';
import { commandMenu } from './command-menu.js';
import { mediaBlock } from './media-bubble.js';
import { openPhotoViewer } from './media-viewer.js';
import { callRow, daySeparator, messageRow, pendingRow } from './message-rows.js';
import { stopVoiceNotes } from './voice-note.js';
import { voiceRecorder } from './voice-recorder.js';

/** The reactions offered in the message menu. */
const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🎉', '🔥', '👎'];

/** Pixels from the bottom within which the view follows new messages. */
const STICK_THRESHOLD = 48;

export function renderConversation(container, chatId) {
  const cleanups = [];
  let mounted = true;
  const timeline = messages.timeline(chatId);
  /** {kind: 'reply' | 'edit', message} while the composer replies to or edits a message. */
  let context = null;
  let stickToBottom = true;
  /** Why the history could not be loaded (shown instead of it), if it could not. */
  let loadError = null;
  const rows = new Map(); // key → {element, signature}
  const mediaViews = new Map(); // message id → {key (its media ids), element}

  const title = h('h2', { class: 'conversation-title', id: 'conversation-title' });
  const subtitle = h('p', { class: 'conversation-subtitle', id: 'conversation-subtitle', 'aria-live': 'polite' });
  const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
  const infoButton = h('button', { type: 'button', class: 'icon-button', id: 'chat-info-button', 'aria-label': 'Chat info', on: { click: () => showChatInfo(chatId) } }, icon('info'));
  const callButton = h('button', { type: 'button', class: 'icon-button', id: 'call-button', 'aria-label': 'Call', title: 'Call', hidden: true, on: { click: () => calls.startCall(chatId, false) } }, icon('phone'));
  const videoCallButton = h('button', { type: 'button', class: 'icon-button', id: 'video-call-button', 'aria-label': 'Video call', title: 'Video call', hidden: true, on: { click: () => calls.startCall(chatId, true) } }, icon('video'));
  const header = h(
    'header',
    { class: 'conversation-header' },
    h('a', { class: 'icon-button back-button', href: href('home'), 'aria-label': 'Back to chats' }, icon('back')),
    h('button', { type: 'button', class: 'conversation-heading', on: { click: () => showChatInfo(chatId) } }, avatar, h('span', { class: 'conversation-titles' }, title, subtitle)),
    callButton,
    videoCallButton,
    infoButton,
  );

  // The newest pin (or, after a click, the next older one), as in Telegram; clicking jumps to it.
  let pinShown = 0;
  const pinText = h('span', { class: 'pin-text', id: 'pin-text' });
  const pinLabel = h('span', { class: 'pin-label' });
  const pinBar = h(
    'button',
    { type: 'button', class: 'pin-bar', id: 'pin-bar', hidden: true, on: { click: jumpToPin } },
    icon('pin', { className: 'icon pin-icon' }),
    h('span', { class: 'pin-titles' }, pinLabel, pinText),
  );

  const olderStatus = h('p', { class: 'older-status', 'aria-live': 'polite' });
  const list = h('ol', { class: 'message-list', id: 'message-list' });
  const scroller = h('div', { class: 'messages', id: 'messages', tabindex: '0', role: 'log', 'aria-label': 'Messages' }, olderStatus, list);

  const contextBar = h('div', { class: 'composer-context', hidden: true });
  const input = h('textarea', { class: 'composer-input', id: 'composer-input', rows: '1', 'aria-label': 'Message', placeholder: 'Message', maxlength: '4096' });
  const sendButton = h('button', { type: 'submit', class: 'send-button', id: 'send-button', 'aria-label': 'Send' }, icon('send'));
  const fileInput = h('input', { type: 'file', multiple: true, id: 'attach-input', hidden: true, tabindex: '-1' });
  const attachButton = h('button', { type: 'button', class: 'icon-button attach-button', id: 'attach-button', 'aria-label': 'Attach files', title: 'Attach files', on: { click: () => fileInput.click() } }, icon('attach'));
  const tray = attachmentTray({ onChange: updateComposerButtons });
  const recorder = voiceRecorder({
    onRecorded: sendVoice,
    onError: (message) => choose('Cannot record', message, [{ label: 'OK', value: true }]),
    onChange: updateComposerButtons,
  });
  const composer = h('form', { class: 'composer', id: 'composer' }, attachButton, fileInput, input, sendButton, recorder.micButton, recorder.bar);
  const commands = commandMenu(input, chatId, {
    enabled: () => context?.kind !== 'edit',
    onPick: () => {
      autosize();
      updateComposerButtons();
      scheduleDraft();
    },
  });
  const readOnlyBar = h('div', { class: 'read-only-bar', id: 'read-only-bar', hidden: true });
  const footer = h('div', { class: 'conversation-footer' }, commands.element, contextBar, tray.element, composer, readOnlyBar);
  const dropOverlay = h('div', { class: 'drop-overlay', 'aria-hidden': 'true' }, h('div', { class: 'drop-target' }, icon('attach'), h('p', { text: 'Drop files here to send them' })));

  const section = h('section', { class: 'conversation', 'aria-labelledby': 'conversation-title', dataset: { chatId } }, header, pinBar, scroller, footer, dropOverlay);
  replaceChildren(container, section);

  // --- header ------------------------------------------------------------------------------

  function renderHeader() {
    const chat = store.chats.get(chatId);
    if (!chat) return;
    const name = chats.chatTitle(chat);
    replaceChildren(title, name);
    const peer = chat.type === 'dm' ? store.users.get(chat.peer_id) : null;
    if (peer?.is_premium) title.append(icon('star', { className: 'icon premium-star', label: 'Premium' }));
    if (peer?.is_bot) title.append(botBadge());
    avatar.className = `avatar ${colorClass(chat.type === 'dm' ? chat.peer_id : chat.id)}`;
    avatar.textContent = initials(name);
    const typing = chats.typingNames(chatId);
    subtitle.classList.toggle('typing', typing.length > 0);
    if (typing.length) {
      subtitle.textContent = chat.type === 'dm' ? 'typing…' : `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`;
    } else if (chat.type === 'dm' && peer?.is_bot) {
      subtitle.textContent = 'bot'; // a program: it is never "online" or "last seen"
    } else if (chat.type === 'dm') {
      const presence = store.presence.get(chat.peer_id);
      subtitle.textContent = presence?.online ? 'online' : presence ? lastSeen(presence.last_seen) : '';
    } else if (chat.type === 'group') {
      subtitle.textContent = count(chat.member_count ?? 0, 'member');
    } else {
      subtitle.textContent = count(chat.member_count ?? 0, 'subscriber');
    }
    const canPost = chats.canPost(chat);
    composer.hidden = !canPost;
    readOnlyBar.hidden = canPost;
    if (!canPost) {
      replaceChildren(readOnlyBar,
        h('span', { text: 'Only the channel’s admins can post here.' }),
        h('button', { type: 'button', class: 'button', on: { click: () => showChatInfo(chatId) } }, 'Channel info'),
      );
    }
    updateComposerButtons();
    updateCallButtons();
  }

  /** Calls are one to one: in DMs with a person only (a bot takes no calls); not while another
   *  call is on, nor offline. */
  function updateCallButtons() {
    const chat = store.chats.get(chatId);
    const dm = chat?.type === 'dm' && !users.isBot(chat.peer_id);
    const unavailable = calls.isBusy() || store.connection !== 'online';
    for (const button of [callButton, videoCallButton]) {
      button.hidden = !dm;
      button.disabled = unavailable;
    }
  }

  // --- messages ----------------------------------------------------------------------------

  /** Everything to show, in order: [key, signature, build]. */
  function entries() {
    const chat = store.chats.get(chatId);
    const isGroup = chat?.type === 'group';
    const othersRead = chat?.others_read_seq ?? 0;
    const result = [];
    let lastDay = null;
    const addDay = (iso) => {
      const day = dayKey(iso);
      if (day === lastDay) return;
      lastDay = day;
      const label = dayLabel(iso);
      result.push([`d:${day}`, label, () => daySeparator(day, label)]);
    };
    for (const message of timeline.messages) {
      addDay(message.created_at);
      if (message.metadata?.call && !message.deleted_at) {
        const summary = callSummary(message.metadata.call, store.me?.id);
        result.push([`m:${message.id}`, `call\u0000${summary.text}`, () => callRow(message, summary)]);
        continue;
      }
      const own = message.sender_id === store.me?.id;
      const status = own && chat?.type !== 'channel' ? (othersRead >= message.seq ? 'read' : 'sent') : null;
      const author = isGroup && !own ? users.nameOf(message.sender_id) : '';
      const authorIsBot = Boolean(author) && users.isBot(message.sender_id);
      const reply = message.reply_to_id ? replySummary(message.reply_to_id) : null;
      const mediaKey = mediaKeyOf(message);
      const reactionsKey = (message.reactions ?? []).map((r) => `${r.emoji}${r.count}`).join(',') + `|${message.my_reaction ?? ''}`;
      // A bot may change only the buttons of a message: they are part of its signature too.
      const signature = [message.content, message.edited_at, message.deleted_at, status, author, authorIsBot, reply?.author, reply?.text, mediaKey, reactionsKey, keyboardKey(message)].join('\u0000');
      result.push([`m:${message.id}`, signature, () => messageRow(message, { own, status, author, authorIsBot, reply, media: mediaFor(message) }, rowActions)]);
    }
    for (const entry of timeline.pending) {
      addDay(entry.created_at);
      const reply = entry.reply_to_id ? replySummary(entry.reply_to_id) : null;
      // Progress changes the row: each upload's state and percent are part of its signature.
      const progress = (entry.uploads ?? []).map((u) => `${u.state}:${u.retrying}:${Math.round(u.progress * 100)}`).join(',');
      result.push([`p:${entry.client_msg_id}`, [entry.state, entry.error, entry.content, progress].join('\u0000'), () => pendingRow(entry, reply, rowActions)]);
    }
    return result;
  }

  /** What the rows' buttons do. */
  const rowActions = {
    openActions: (button, message) => openActions(button, message),
    showOriginal: (messageId) => scrollToMessage(messageId),
    react: (message, emoji) => messages.react(message, emoji).catch((error) => choose('No reaction', api.describe(error), [{ label: 'OK', value: true }])),
    retry: (entry) => messages.retry(chatId, entry.client_msg_id),
    discard: (entry) => messages.discard(chatId, entry.client_msg_id),
  };

  const mediaKeyOf = (message) => (message.deleted_at ? '' : (message.media ?? []).map((m) => m.id).join(','));

  /** The media element of a message, built once and moved into its row when the row is rebuilt. */
  function mediaFor(message) {
    const key = mediaKeyOf(message);
    if (!key) {
      mediaViews.delete(message.id);
      return null;
    }
    let view = mediaViews.get(message.id);
    if (!view || view.key !== key) {
      view = { key, element: mediaBlock(message, { openPhoto }) };
      mediaViews.set(message.id, view);
    }
    return view.element;
  }

  /** Opens the viewer on a photo, with every photo of the loaded history to move through. */
  function openPhoto(media) {
    const items = [];
    for (const message of timeline.messages) {
      if (message.deleted_at) continue;
      for (const m of message.media ?? []) {
        if (m.kind === 'photo') items.push({ media: m, message, author: users.nameOf(message.sender_id) });
      }
    }
    openPhotoViewer(items, items.findIndex((item) => item.media.id === media.id));
  }

  function replySummary(messageId) {
    const original = timeline.findById(messageId);
    if (!original) return { author: '', text: 'Original message', id: messageId };
    return { author: users.nameOf(original.sender_id), text: preview(original, store.me?.id) || 'Message', id: messageId };
  }

  const renderMessages = perFrame(() => {
    if (!mounted) return;
    // Remember what the reader looks at, to keep it in place when older messages are added above.
    const anchor = stickToBottom ? null : firstVisibleRow();
    const anchorTop = anchor?.getBoundingClientRect().top;

    const wanted = entries();
    const keep = new Set(wanted.map(([key]) => key));
    for (const [key, row] of rows) {
      if (!keep.has(key)) {
        row.element.remove();
        rows.delete(key);
        if (key.startsWith('m:')) mediaViews.delete(key.slice(2));
      }
    }
    let previous = null;
    for (const [key, signature, build] of wanted) {
      let row = rows.get(key);
      if (!row || row.signature !== signature) {
        const element = build();
        if (row) row.element.replaceWith(element);
        row = { element, signature };
        rows.set(key, row);
      }
      const expectedNext = previous ? previous.nextSibling : list.firstChild;
      if (expectedNext !== row.element) list.insertBefore(row.element, expectedNext);
      previous = row.element;
    }

    olderStatus.textContent = timeline.loadingOlder
      ? 'Loading older messages…'
      : !timeline.loaded
        ? loadError ?? 'Loading…'
        : timeline.hasOlder
          ? ''
          : timeline.messages.length
            ? 'This is the beginning of the chat.'
            : '';
    olderStatus.hidden = !olderStatus.textContent;
    if (timeline.loaded && !timeline.messages.length && !timeline.pending.length) {
      olderStatus.hidden = false;
      olderStatus.textContent = store.chats.get(chatId)?.type === 'channel' ? 'No posts yet.' : 'No messages here yet. Say hello!';
    }

    if (stickToBottom) {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (anchor?.isConnected) {
      scroller.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    }
    maybeLoadOlder();
    readIfSeen();
  });

  /** Marks the chat read when its newest messages are on screen and the tab is visible. */
  function readIfSeen() {
    if (stickToBottom && document.visibilityState === 'visible') messages.markRead(chatId);
  }

  function firstVisibleRow() {
    const top = scroller.getBoundingClientRect().top;
    for (const row of list.children) if (row.getBoundingClientRect().bottom > top) return row;
    return null;
  }

  function maybeLoadOlder() {
    if (timeline.loaded && timeline.hasOlder && !timeline.loadingOlder && scroller.scrollTop < 300) {
      messages.loadOlder(chatId).catch(() => {});
    }
  }

  scroller.addEventListener('scroll', () => {
    stickToBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < STICK_THRESHOLD;
    maybeLoadOlder();
    readIfSeen();
  });

  function scrollToMessage(messageId) {
    const row = document.getElementById(`message-${messageId}`);
    if (!row) return;
    row.scrollIntoView({ block: 'center', behavior: 'smooth' });
    row.classList.add('highlight');
    setTimeout(() => row.classList.remove('highlight'), 1500);
  }

  // --- pins --------------------------------------------------------------------------------

  function renderPins() {
    const pins = store.pins.get(chatId) ?? [];
    pinBar.hidden = pins.length === 0;
    if (!pins.length) return;
    if (pinShown >= pins.length) pinShown = 0;
    const { message } = pins[pinShown];
    pinLabel.textContent = pins.length > 1 ? `Pinned message ${pins.length - pinShown} of ${pins.length}` : 'Pinned message';
    pinText.textContent = preview(message) || 'Message';
    pinBar.dataset.messageId = message.id;
  }

  /** Goes to the pin shown, then shows the next older one. */
  async function jumpToPin() {
    const pins = store.pins.get(chatId) ?? [];
    if (!pins.length) return;
    const { message } = pins[pinShown];
    pinShown = (pinShown + 1) % pins.length;
    renderPins();
    await jumpTo(message.id);
  }

  /** Shows a message (by id, or by `seq`): older history is loaded (up to 40 pages) until it is there. */
  async function jumpTo(messageId, seq = null) {
    const row = () => (messageId ? document.getElementById(`message-${messageId}`) : list.querySelector(`.message[data-seq="${seq}"]`));
    const rendered = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    await rendered(); // rows are drawn once per frame
    for (let tries = 0; !row() && tries < 40; tries += 1) {
      if (!(await messages.loadOlder(chatId).catch(() => false))) break;
      await rendered();
    }
    const found = row();
    if (found) scrollToMessage(found.dataset.id);
  }

  /** A search hit or a mention badge of this chat was clicked. */
  function takeJump() {
    const jump = store.jumpTo;
    if (!jump || jump.chatId !== chatId) return;
    store.jumpTo = null;
    jumpTo(jump.messageId ?? null, jump.seq ?? null);
  }

  // --- actions -----------------------------------------------------------------------------

  function openActions(button, message) {
    const chat = store.chats.get(chatId);
    const own = message.sender_id === store.me?.id;
    const admin = chat?.role === 'owner' || chat?.role === 'admin';
    const items = [];
    if (chats.canPost(chat)) items.push({ label: 'Reply', icon: 'reply', action: () => setContext({ kind: 'reply', message }) });
    if (own) items.push({ label: 'Edit', icon: 'edit', action: () => setContext({ kind: 'edit', message }) });
    items.push({ label: 'React', icon: 'smile', action: () => openReactions(button, message, own) });
    if (chat?.type === 'dm' || admin) {
      const pinned = messages.isPinned(message);
      items.push({ label: pinned ? 'Unpin' : 'Pin', icon: 'pin', action: () => messages.setPinned(message, !pinned).catch((error) => choose('Not changed', api.describe(error), [{ label: 'OK', value: true }])) });
    }
    if (message.content) items.push({ label: 'Copy text', icon: 'chat', action: () => navigator.clipboard?.writeText(message.content).catch(() => {}) });
    items.push({ label: 'Delete', icon: 'trash', danger: true, action: () => confirmDelete(message, own || (admin && chat?.type !== 'dm')) });
    showMenu(button, items, { align: own ? 'end' : 'start' });
  }

  /** The quick reactions (any emoji works through the API; these are a tap away). */
  function openReactions(button, message, own) {
    const items = QUICK_REACTIONS.map((emoji) => ({
      label: message.my_reaction === emoji ? `${emoji} (yours: take back)` : emoji,
      action: () => rowActions.react(message, message.my_reaction === emoji ? null : emoji),
    }));
    showMenu(button, items, { align: own ? 'end' : 'start' });
  }

  async function confirmDelete(message, forEveryone) {
    const options = [];
    if (forEveryone) options.push({ label: 'Delete for everyone', value: 'everyone', className: 'danger' });
    options.push({ label: 'Delete for me', value: 'me', className: forEveryone ? '' : 'danger' }, { label: 'Cancel', value: null });
    const scope = await choose('Delete message?', forEveryone ? 'Delete it for everyone in this chat, or only hide it for you.' : 'This hides the message for you.', options);
    if (!scope) return;
    try {
      await messages.deleteMessage(message, scope);
    } catch (error) {
      await choose('Not deleted', api.describe(error), [{ label: 'OK', value: true }]);
    }
  }

  function setContext(next) {
    context = next;
    commands.close();
    contextBar.hidden = !context;
    if (!context) {
      contextBar.replaceChildren();
      return;
    }
    const { kind, message } = context;
    replaceChildren(contextBar,
      icon(kind === 'edit' ? 'edit' : 'reply'),
      h(
        'span',
        { class: 'composer-context-text' },
        h('strong', { text: kind === 'edit' ? 'Editing' : `Reply to ${users.nameOf(message.sender_id)}` }),
        h('span', { text: preview(message) }),
      ),
      h('button', { type: 'button', class: 'icon-button', 'aria-label': kind === 'edit' ? 'Cancel editing' : 'Cancel reply', on: { click: cancelContext } }, icon('close')),
    );
    if (kind === 'edit') input.value = message.content;
    autosize();
    updateComposerButtons();
    input.focus();
  }

  function cancelContext() {
    if (context?.kind === 'edit') input.value = '';
    setContext(null);
    autosize();
    updateComposerButtons();
  }

  // --- composer ----------------------------------------------------------------------------

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  /**
   * Send, or the microphone while there is nothing to send (as in Telegram); while recording, the
   * recording bar instead of the input. The placeholder says a text goes with the files.
   */
  function updateComposerButtons() {
    const recording = recorder.active;
    const editing = context?.kind === 'edit';
    const mic = recorder.available && !input.value.trim() && tray.count === 0 && !editing;
    sendButton.hidden = recording || mic;
    recorder.micButton.hidden = recording || !mic;
    input.hidden = recording;
    attachButton.hidden = recording || editing;
    const chat = store.chats.get(chatId);
    input.placeholder = tray.count ? 'Add a caption…' : chat?.type === 'channel' ? 'Broadcast a post' : 'Message';
  }

  /** Files chosen, dropped or pasted: into the tray, uploading at once. */
  function addFiles(files) {
    if (!files?.length || composer.hidden || recorder.active) return;
    tray.add(files);
    input.focus();
  }

  fileInput.addEventListener('change', () => {
    addFiles([...fileInput.files]);
    fileInput.value = ''; // choosing the same file again must fire 'change' again
  });

  input.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (!files.length) return; // text: the textarea pastes it
    event.preventDefault();
    addFiles(files);
  });

  // Drag and drop anywhere on the conversation. Enter and leave fire for every child crossed, so
  // a depth count says when the files really left.
  let dragDepth = 0;
  const carriesFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
  section.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event) || composer.hidden) return;
    event.preventDefault();
    dragDepth += 1;
    section.classList.add('dragging');
  });
  section.addEventListener('dragover', (event) => {
    if (!carriesFiles(event) || composer.hidden) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  section.addEventListener('dragleave', (event) => {
    if (!carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) section.classList.remove('dragging');
  });
  section.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    section.classList.remove('dragging');
    addFiles([...event.dataTransfer.files]);
  });

  /** A finished voice recording: sent at once, as Telegram does. */
  function sendVoice({ blob, duration, extension }) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const upload = new Upload(blob, { kind: 'voice', fileName: `voice-${stamp}.${extension}`, duration });
    const replyTo = context?.kind === 'reply' ? context.message.id : null;
    messages.sendMedia(chatId, [upload], '', replyTo);
    if (context?.kind === 'reply') setContext(null);
    stickToBottom = true;
    renderMessages();
  }

  composer.addEventListener('submit', async (event) => {
    event.preventDefault();
    commands.close();
    const text = input.value.trim();
    if (tray.count && context?.kind !== 'edit') {
      const replyTo = context?.kind === 'reply' ? context.message.id : null;
      messages.sendMedia(chatId, tray.take(), text, replyTo);
      input.value = '';
      setContext(null);
      autosize();
      updateComposerButtons();
      stickToBottom = true;
      renderMessages();
      return;
    }
    if (!text) return;
    if (context?.kind === 'edit') {
      const { message } = context;
      if (text === message.content) {
        cancelContext();
        return;
      }
      try {
        await messages.editMessage(message, text);
        input.value = '';
        setContext(null);
        autosize();
        updateComposerButtons();
      } catch (error) {
        await choose('Not saved', api.describe(error), [{ label: 'OK', value: true }]);
      }
      return;
    }
    const replyTo = context?.kind === 'reply' ? context.message.id : null;
    messages.sendMessage(chatId, text, replyTo);
    input.value = '';
    saveDraft();
    setContext(null);
    autosize();
    updateComposerButtons();
    stickToBottom = true;
    renderMessages();
  });

  input.addEventListener('keydown', (event) => {
    if (commands.handleKey(event)) return; // the command menu's keys (arrows, Enter, Tab, Escape)
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    } else if (event.key === 'Escape' && context) {
      event.preventDefault();
      cancelContext();
    } else if (event.key === 'ArrowUp' && !input.value) {
      // As in Telegram: up in an empty composer edits your last message.
      const last = [...timeline.messages].reverse().find((m) => m.sender_id === store.me?.id && !m.deleted_at && !m.metadata?.call);
      if (last) {
        event.preventDefault();
        setContext({ kind: 'edit', message: last });
      }
    }
  });
  input.addEventListener('input', () => {
    autosize();
    updateComposerButtons();
    if (input.value.trim() && context?.kind !== 'edit') messages.sendTyping(chatId);
    if (context?.kind !== 'edit') scheduleDraft();
  });

  // The draft follows the person to their other devices (kept on the server a moment after typing stops).
  let draftTimer = null;
  function scheduleDraft() {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, 800);
  }
  function saveDraft() {
    clearTimeout(draftTimer);
    draftTimer = null;
    if (context?.kind === 'edit' || !store.chats.has(chatId)) return;
    chats.saveDraft(chatId, input.value.trim() ? input.value : '').catch(() => {});
  }
  cleanups.push(() => {
    if (draftTimer) saveDraft();
  });
  function restoreDraft() {
    const draft = store.chats.get(chatId)?.draft;
    if (draft && !input.value) {
      input.value = draft;
      autosize();
      updateComposerButtons();
    }
  }

  // --- lifecycle ---------------------------------------------------------------------------

  const onVisible = () => readIfSeen();
  document.addEventListener('visibilitychange', onVisible);
  cleanups.push(() => document.removeEventListener('visibilitychange', onVisible));

  cleanups.push(
    store.on('timeline', (id) => {
      if (id === chatId) renderMessages();
    }),
    store.on('users', () => {
      renderHeader();
      renderMessages();
    }),
    store.on('chats', () => {
      if (!store.chats.has(chatId)) {
        showMissing();
        return;
      }
      renderHeader();
    }),
    store.on('presence', renderHeader),
    store.on('pins', (id) => {
      if (id === chatId) renderPins();
    }),
    store.on('jump', (id) => {
      if (id === chatId) takeJump();
    }),
    store.on('typing', (id) => {
      if (id === chatId) renderHeader();
    }),
  );

  /** The chat is gone (left, removed) or was never ours. */
  function showUnavailable() {
    replaceChildren(
      section,
      h('div', { class: 'empty-screen' }, h('p', { text: 'This chat is not available.' }), h('a', { class: 'button', href: href('home') }, 'Back to chats')),
    );
  }

  function showMissing() {
    if (store.chatsLoaded && !store.chats.has(chatId)) showUnavailable();
  }

  async function start() {
    if (!store.chats.has(chatId)) {
      // Not in the list (yet): a chat just created elsewhere, or one we are not in.
      await chats.refreshChat(chatId).catch(() => null);
      if (!mounted) return;
      if (!store.chats.has(chatId)) {
        // The server said no (or cannot be asked now): not a chat of ours, as far as we know.
        showUnavailable();
        return;
      }
    }
    renderHeader();
    renderMessages();
    renderPins();
    restoreDraft();
    if (!disconnected()) messages.loadPins(chatId).catch(() => {});
    // Nobody is told when someone subscribes to a channel: take a fresh subscriber count.
    if (store.chats.get(chatId)?.type === 'channel' && !disconnected()) chats.refreshChat(chatId).catch(() => {});
    await loadHistory();
    if (!mounted) return;
    takeJump();
    if (window.matchMedia('(hover: hover)').matches && !composer.hidden) input.focus();
  }

  /** Whether the app knows it cannot reach the server now (then it asks nothing, and waits). */
  const disconnected = () => store.connection === 'offline' || store.connection === 'reconnecting';

  /** The newest page of history; when disconnected or after a failure, once the connection is back. */
  async function loadHistory() {
    loadError = null;
    if (disconnected() && !timeline.loaded) {
      loadError = 'Waiting for the connection…';
      renderMessages();
      return;
    }
    try {
      await messages.openTimeline(chatId);
      // Group messages name their authors: learn them all at once.
      if (store.chats.get(chatId)?.type === 'group') loadMembers();
    } catch (error) {
      loadError = api.describe(error);
    }
    if (mounted) renderMessages();
  }
  cleanups.push(
    store.on('connection', () => {
      updateCallButtons();
      if (store.connection === 'online' && loadError && !timeline.loaded) loadHistory();
      // Opened while offline: the pins come once the connection is back.
      if (store.connection === 'online' && !store.pins.has(chatId)) messages.loadPins(chatId).catch(() => {});
    }),
    store.on('call', updateCallButtons),
  );

  async function loadMembers() {
    try {
      const page = await api.get(`/chats/${chatId}/members${api.query({ limit: 100 })}`);
      users.remember(page.members.map((m) => m.user));
    } catch {
      // Names then load one by one as messages need them.
    }
  }

  updateComposerButtons();
  start();

  return () => {
    mounted = false;
    tray.clear();
    recorder.cancel();
    stopVoiceNotes();
    messages.flushReads();
    cleanups.forEach((cleanup) => cleanup());
  };
}

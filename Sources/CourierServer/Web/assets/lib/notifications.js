// Desktop notifications while the tab is hidden (the browser's Notification API, from the page:
// no push service is involved), and the unread count in the title and on the favicon. Muted chats
// stay silent and are not counted.
import * as chats from './chats.js';
import { preview } from './format.js';
import { navigate } from './router.js';
import { store } from './store.js';
import * as users from './users.js';

const BASE_TITLE = document.title || 'Courier';
let favicon = null;
let baseIcon = null;

/** Asks for permission (from a click: browsers allow the prompt only then). */
export async function enable() {
  if (!('Notification' in window)) return 'unsupported';
  if (Notification.permission === 'default') await Notification.requestPermission();
  return Notification.permission;
}

export function permission() {
  return 'Notification' in window ? Notification.permission : 'unsupported';
}

/** A message arrived and was not read at once: notify when the tab is hidden and the chat is not muted. */
export function notify(chat, message) {
  if (document.visibilityState !== 'hidden' || chats.isMuted(chat) || permission() !== 'granted') return;
  if (message.sender_id === store.me?.id) return;
  const author = chat.type === 'group' ? `${users.nameOf(message.sender_id)}: ` : '';
  const notification = new Notification(chats.chatTitle(chat), { body: author + preview(message, store.me?.id), tag: chat.id, icon: '/assets/icon.svg' });
  notification.onclick = () => {
    window.focus();
    navigate('chat', chat.id);
    notification.close();
  };
}

/** Unread messages in chats that are not muted (archived ones included). */
function unreadTotal() {
  let total = 0;
  for (const chat of store.chats.values()) if (!chats.isMuted(chat)) total += chat.unread_count ?? 0;
  return total;
}

/** Keeps the title ("(3) Courier") and the favicon's red dot in step with the unread count. */
export function watchUnread() {
  const update = () => {
    const total = unreadTotal();
    document.title = total ? `(${total > 999 ? '999+' : total}) ${BASE_TITLE}` : BASE_TITLE;
    drawFavicon(total);
  };
  update();
  return store.on('chats', update);
}

function drawFavicon(total) {
  favicon ??= document.querySelector('link[rel~="icon"]') ?? document.head.appendChild(Object.assign(document.createElement('link'), { rel: 'icon', href: '/assets/icon.svg' }));
  baseIcon ??= favicon.href;
  if (!total) {
    favicon.href = baseIcon;
    favicon.dataset.unread = '0';
    return;
  }
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 32;
  const context = canvas.getContext('2d');
  context.fillStyle = '#3390ec';
  context.beginPath();
  context.arc(16, 16, 14, 0, Math.PI * 2);
  context.fill();
  context.fillStyle = '#e53935';
  context.beginPath();
  context.arc(24, 8, 8, 0, Math.PI * 2);
  context.fill();
  favicon.href = canvas.toDataURL('image/png');
  favicon.dataset.unread = String(total);
}

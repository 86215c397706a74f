// The signed-in layout: the chat list on the left, the current screen on the right. At phone
// width only one of them shows: the list, or the screen with a back button. The call screen
// goes over both while a call rings or runs.
import * as sync from '../lib/sync.js';
import { h, replaceChildren } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { showMenu } from '../lib/menu.js';
import { currentRoute, href, onRouteChange } from '../lib/router.js';
import { store } from '../lib/store.js';
import { colorClass, initials } from '../lib/format.js';
import { renderCallScreen } from './call-screen.js';
import { renderChatList } from './chat-list.js';
import { renderConversation } from './conversation.js';
import { newDirectMessage, newGroup, newChannel, findChannel } from './create.js';
import { renderPremium } from './premium.js';
import { renderReference } from './reference.js';
import { renderSettings } from './settings.js';

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  online: 'Online',
  reconnecting: 'Reconnecting…',
  offline: 'Waiting for network…',
};

export function renderShell(root) {
  const cleanups = [];
  const connection = h('span', { class: 'connection', id: 'connection-state', role: 'status', 'aria-live': 'polite' });
  const banner = h('div', { class: 'connection-banner', id: 'connection-banner', hidden: true });
  const newButton = h(
    'button',
    { type: 'button', class: 'icon-button', id: 'new-chat-button', 'aria-label': 'New chat', 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
    icon('edit'),
  );
  newButton.addEventListener('click', () =>
    showMenu(
      newButton,
      [
        { label: 'New message', icon: 'user', action: newDirectMessage },
        { label: 'New group', icon: 'users', action: newGroup },
        { label: 'New channel', icon: 'megaphone', action: newChannel },
        { label: 'Find a channel', icon: 'search', action: findChannel },
      ],
      { align: 'end' },
    ),
  );
  const profile = h('a', { class: 'profile-link', href: href('settings'), id: 'profile-link' });
  const premiumLink = h('a', { class: 'icon-button', href: href('premium'), id: 'premium-link', 'aria-label': 'Premium', title: 'Premium' }, icon('star'));
  const settingsLink = h('a', { class: 'icon-button', href: href('settings'), id: 'settings-link', 'aria-label': 'Settings', title: 'Settings' }, icon('settings'));

  const list = renderChatList();
  cleanups.push(list.teardown);
  const sidebar = h(
    'aside',
    { class: 'sidebar', 'aria-label': 'Chats' },
    h('header', { class: 'sidebar-header' }, h('div', { class: 'brand' }, h('h1', { text: 'Courier' }), connection), newButton),
    list.element,
    h('footer', { class: 'sidebar-footer' }, profile, premiumLink, settingsLink),
  );
  const main = h('main', { class: 'main', id: 'main' });
  const callScreen = renderCallScreen();
  cleanups.push(callScreen.teardown);
  const shell = h('div', { class: 'shell' }, banner, sidebar, main, callScreen.element);
  replaceChildren(root, shell);

  function showConnection() {
    const state = store.connection;
    connection.textContent = CONNECTION_TEXT[state] ?? state;
    connection.dataset.state = state;
    banner.hidden = state === 'online';
    banner.dataset.state = state;
    banner.textContent = CONNECTION_TEXT[state] ?? '';
  }

  function showProfile() {
    const me = store.me;
    if (!me) return;
    replaceChildren(profile,
      h('span', { class: ['avatar', 'small', colorClass(me.id)], 'aria-hidden': 'true', text: initials(me.username) }),
      h('span', { class: 'profile-name', text: me.username }),
      me.is_premium ? h('span', { class: 'premium-badge', id: 'premium-badge', title: 'Premium', 'aria-label': 'Premium' }, icon('star')) : null,
    );
    profile.setAttribute('aria-label', `Your profile: ${me.username}${me.is_premium ? ', Premium' : ''}`);
  }

  let screen = null;
  let shown = null;
  function route() {
    const next = currentRoute();
    // A hash link fires both popstate and hashchange: show each screen once.
    const key = `${next.name}:${next.id ?? ''}`;
    if (key === shown) return;
    shown = key;
    screen?.();
    screen = null;
    store.activeChatId = next.name === 'chat' ? next.id : null;
    shell.classList.toggle('has-screen', next.name !== 'home');
    main.replaceChildren();
    switch (next.name) {
      case 'chat':
        screen = renderConversation(main, next.id);
        break;
      case 'settings':
        screen = renderSettings(main);
        break;
      case 'premium':
        screen = renderPremium(main);
        break;
      case 'reference':
        screen = renderReference(main, next.id);
        break;
      default:
        main.append(
          h(
            'div',
            { class: 'empty-screen' },
            icon('chat', { className: 'icon huge' }),
            h('p', { text: 'Select a chat to start messaging' }),
            h('button', { type: 'button', class: 'button', on: { click: newDirectMessage } }, 'New message'),
          ),
        );
    }
    store.emit('route');
  }

  // On `/r/<ref>`, in-app links (`/#/…`) would load the page anew; switch screens in place instead.
  const onLinkClick = (event) => {
    const link = event.target.closest?.('a[href^="/#/"]');
    if (!link || location.pathname === '/' || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    history.pushState(null, '', link.getAttribute('href'));
    route();
  };
  shell.addEventListener('click', onLinkClick);
  cleanups.push(() => shell.removeEventListener('click', onLinkClick));

  // The tab's title counts unread messages, as Telegram Web does.
  function showUnreadInTitle() {
    const unread = [...store.chats.values()].reduce((sum, chat) => sum + (chat.unread_count ?? 0), 0);
    document.title = unread ? `(${unread}) Courier` : 'Courier';
  }

  cleanups.push(
    store.on('connection', showConnection),
    store.on('me', showProfile),
    store.on('chats', showUnreadInTitle),
    onRouteChange(route),
    () => {
      document.title = 'Courier';
    },
  );
  showConnection();
  showProfile();
  route();

  return () => {
    screen?.();
    cleanups.forEach((cleanup) => cleanup());
    sync.stop();
  };
}

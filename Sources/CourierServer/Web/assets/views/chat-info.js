// Details of a chat: a person's (or a bot's) profile (DM); a group's members with roles, adding
// and removing people, appointing admins, renaming, leaving; a channel's description, subscribers
// (for its admins) and unsubscribing.
import * as api from '../lib/api.js';
import * as chats from '../lib/chats.js';
import * as users from '../lib/users.js';
import { choose, openDialog } from '../lib/dialog.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorLine, field, onSubmit, showError } from '../lib/forms.js';
import { icon } from '../lib/icons.js';
import { colorClass, count, initials, lastSeen } from '../lib/format.js';
import { navigate } from '../lib/router.js';
import { store } from '../lib/store.js';
import { botBadge } from './bot-badge.js';

const ROLE_NAMES = { owner: 'owner', admin: 'admin', member: '', subscriber: '' };
const RANK = { subscriber: 0, member: 1, admin: 2, owner: 3 };

export function showChatInfo(chatId) {
  const chat = store.chats.get(chatId);
  if (!chat) return;
  const title = chat.type === 'dm' ? 'Profile' : chat.type === 'group' ? 'Group info' : 'Channel info';
  openDialog(title, (close) => {
    const body = h('div', { class: 'chat-info', id: 'chat-info' });
    if (chat.type === 'dm') renderProfile(body, chat);
    else renderRoom(body, chat, close);
    return body;
  });
}

function renderProfile(body, chat) {
  const user = store.users.get(chat.peer_id);
  const presence = store.presence.get(chat.peer_id);
  body.append(
    h('div', { class: 'info-hero' },
      h('span', { class: ['avatar', 'large', colorClass(chat.peer_id)], 'aria-hidden': 'true', text: initials(user?.username) }),
      h('h3', {}, user?.username ?? 'Someone', user?.is_bot ? botBadge() : null, user?.is_premium ? icon('star', { className: 'icon premium-star', label: 'Premium' }) : null),
      h('p', { class: 'muted', text: user?.is_bot ? 'bot' : presence?.online ? 'online' : presence ? lastSeen(presence.last_seen) : '' }),
    ),
    user?.bio ? h('p', { class: 'info-bio', text: user.bio }) : null,
    h('p', { class: 'muted', text: `@${user?.username ?? ''}` }),
  );
}

function renderRoom(body, chat, close) {
  const isAdmin = chat.role === 'owner' || chat.role === 'admin';
  const hero = h('div', { class: 'info-hero' });
  const membersSection = h('section', { class: 'info-section', 'aria-label': chat.type === 'group' ? 'Members' : 'Subscribers' });
  const actions = h('div', { class: 'dialog-actions stacked' });
  body.append(hero, membersSection, actions);

  function renderHero(extra = {}) {
    const current = store.chats.get(chat.id) ?? chat;
    replaceChildren(hero,
      h('span', { class: ['avatar', 'large', colorClass(chat.id)], 'aria-hidden': 'true', text: initials(current.name) }),
      h('h3', { id: 'info-name', text: current.name }),
      extra.username ? h('p', { class: 'muted', text: `@${extra.username}` }) : null,
      extra.description ? h('p', { class: 'info-bio', text: extra.description }) : null,
      h('p', { class: 'muted', text: chat.type === 'group' ? count(current.member_count ?? 0, 'member') : count(extra.subscriber_count ?? current.member_count ?? 0, 'subscriber') }),
    );
    if (isAdmin) hero.append(renameForm(current));
  }

  function renameForm(current) {
    const error = errorLine();
    const name = field({ label: chat.type === 'group' ? 'Group name' : 'Channel name', name: 'name', value: current.name ?? '', required: true, maxlength: 255 });
    const form = h('form', { class: 'form compact', id: 'rename-form' }, name.row, error, h('button', { type: 'submit', class: 'button', text: 'Rename' }));
    const details = h('details', { class: 'rename' }, h('summary', { text: 'Rename' }), form);
    onSubmit(form, error, async () => {
      const newName = name.input.value.trim();
      if (chat.type === 'group') await api.patch(`/chats/${chat.id}`, { name: newName });
      else await api.patch(`/channels/${chat.id}`, { name: newName });
      await chats.refreshChat(chat.id);
      renderHero(channelInfo ?? {});
    });
    return details;
  }

  let channelInfo = null;
  if (chat.type === 'channel') {
    api.get(`/channels/${chat.id}`).then((info) => {
      channelInfo = info;
      renderHero(info);
    }).catch(() => {});
  }
  renderHero();

  async function loadMembers() {
    if (chat.type === 'channel' && !isAdmin) {
      membersSection.hidden = true;
      return;
    }
    replaceChildren(membersSection, h('p', { class: 'muted', text: 'Loading members…' }));
    try {
      const page = await api.get(`/chats/${chat.id}/members${api.query({ limit: 100 })}`);
      users.remember(page.members.map((m) => m.user));
      renderMembers(page.members, page.total);
    } catch (error) {
      replaceChildren(membersSection, h('p', { class: 'form-error', text: api.describe(error) }));
    }
  }

  function renderMembers(members, total) {
    const me = store.me?.id;
    const myRole = store.chats.get(chat.id)?.role ?? chat.role;
    const error = errorLine();
    const rows = members.map((member) => {
      const buttons = [];
      const isMe = member.user.id === me;
      if (!isMe && myRole === 'owner' && member.role !== 'owner') {
        const makeAdmin = member.role !== 'admin';
        buttons.push(h('button', { type: 'button', class: 'button small', text: makeAdmin ? 'Make admin' : 'Remove admin', on: { click: () => act(() => api.patch(`/chats/${chat.id}/members/${member.user.id}`, { role: makeAdmin ? 'admin' : chat.type === 'channel' ? 'subscriber' : 'member' })) } }));
      }
      if (!isMe && chat.type === 'group' && RANK[myRole] >= RANK.admin && RANK[myRole] > RANK[member.role]) {
        buttons.push(h('button', { type: 'button', class: 'button small danger', text: 'Remove', on: { click: () => act(() => api.del(`/chats/${chat.id}/members/${member.user.id}`)) } }));
      }
      return h(
        'li',
        { class: 'member-row', dataset: { userId: member.user.id, role: member.role } },
        h('span', { class: ['avatar', 'small', colorClass(member.user.id)], 'aria-hidden': 'true', text: initials(member.user.username) }),
        h('span', { class: 'member-name' }, h('span', { class: 'member-username', text: member.user.username }), member.user.is_bot ? botBadge() : null, isMe ? h('span', { class: 'muted you', text: '(you)' }) : null, member.user.is_premium ? icon('star', { className: 'icon premium-star', label: 'Premium' }) : null),
        ROLE_NAMES[member.role] ? h('span', { class: 'role-badge', text: ROLE_NAMES[member.role] }) : null,
        h('span', { class: 'member-actions' }, buttons),
      );
    });
    async function act(request) {
      showError(error, null);
      try {
        await request();
        await chats.refreshChat(chat.id);
        await loadMembers();
      } catch (failure) {
        showError(error, api.describe(failure));
      }
    }
    replaceChildren(membersSection,
      h('h4', { text: `${chat.type === 'group' ? 'Members' : 'Subscribers'} (${total})` }),
      error,
      h('ul', { class: 'member-list', id: 'member-list' }, rows),
      chat.type === 'group' && RANK[myRole] >= RANK.admin ? addMemberForm() : null,
    );
  }

  function addMemberForm() {
    const error = errorLine();
    const who = field({ label: 'Add a member', name: 'member', id: 'add-member-input', placeholder: 'Username or phone', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', required: true });
    const form = h('form', { class: 'form compact', id: 'add-member-form' }, who.row, error, h('button', { type: 'submit', class: 'button', text: 'Add' }));
    onSubmit(form, error, async () => {
      let user;
      try {
        user = await users.lookup(who.input.value);
      } catch (failure) {
        if (failure instanceof api.ApiError && failure.status === 404) throw new api.UserError('No one has that username or phone number.');
        throw failure;
      }
      await api.post(`/chats/${chat.id}/members`, { user_ids: [user.id] });
      await chats.refreshChat(chat.id);
      renderHero(channelInfo ?? {});
      await loadMembers();
    });
    return form;
  }

  const leaveLabel = chat.type === 'group' ? 'Leave group' : 'Unsubscribe';
  if (!(chat.type === 'channel' && chat.role === 'owner')) {
    actions.append(
      h('button', {
        type: 'button',
        class: 'button danger',
        id: 'leave-button',
        text: leaveLabel,
        on: {
          click: async () => {
            const sure = await choose(`${leaveLabel}?`, chat.type === 'group' ? 'You will no longer see this group’s messages.' : 'You will no longer receive this channel’s posts.', [
              { label: leaveLabel, value: true, className: 'danger' },
              { label: 'Cancel', value: false },
            ]);
            if (!sure) return;
            try {
              if (chat.type === 'group') await api.post(`/chats/${chat.id}/leave`);
              else await api.del(`/channels/${chat.id}/subscribe`);
              close();
              chats.removeChat(chat.id);
              navigate('home');
            } catch (failure) {
              await choose('Could not leave', api.describe(failure), [{ label: 'OK', value: true }]);
            }
          },
        },
      }),
    );
  }
  loadMembers();
}

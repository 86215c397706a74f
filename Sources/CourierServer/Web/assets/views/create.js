// Starting things: a direct message by username or phone, a group with members, a channel, and
// finding a public channel by its username to subscribe.
import * as api from '../lib/api.js';
import * as chats from '../lib/chats.js';
import * as users from '../lib/users.js';
import { openDialog } from '../lib/dialog.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorLine, field, onSubmit, showError } from '../lib/forms.js';
import { icon } from '../lib/icons.js';
import { count } from '../lib/format.js';
import { navigate } from '../lib/router.js';

/** Opens the chat once the dialog has closed (so focus lands in the conversation). */
async function openWhenClosed(dialog) {
  const chatId = await dialog;
  if (chatId) navigate('chat', chatId);
}

export function newDirectMessage() {
  openWhenClosed(
    openDialog('New message', (close) => {
      const error = errorLine();
      const who = field({ label: 'Username or phone number', name: 'who', id: 'dm-username', required: true, autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'alice_1 or +14155550123' });
      const form = h('form', { class: 'form', id: 'new-dm-form' }, who.row, error, h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'button primary', text: 'Start chat' })));
      onSubmit(form, error, async () => {
        const user = await users.lookup(who.input.value).catch((failure) => {
          if (failure instanceof api.ApiError && failure.status === 404) throw new api.UserError('No one has that username or phone number.');
          throw failure;
        });
        const chat = await api.post('/chats', { type: 'dm', user_id: user.id });
        await chats.addChat(chat);
        close(chat.id);
      });
      return form;
    }),
  );
}

export function newGroup() {
  openWhenClosed(
    openDialog('New group', (close) => {
      const error = errorLine();
      const members = new Map(); // id → user
      const name = field({ label: 'Group name', name: 'name', id: 'group-name', required: true, maxlength: 255, autocomplete: 'off' });
      const memberInput = h('input', { id: 'group-member', name: 'member', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'Username or phone' });
      const addButton = h('button', { type: 'button', class: 'button', id: 'group-add-member', text: 'Add' });
      const chips = h('ul', { class: 'chips', id: 'group-members', 'aria-label': 'Members to add' });
      const memberError = errorLine();

      function renderChips() {
        replaceChildren(chips,
          ...[...members.values()].map((user) =>
            h(
              'li',
              { class: 'chip', dataset: { userId: user.id } },
              h('span', { text: user.username }),
              h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${user.username}`, on: { click: () => { members.delete(user.id); renderChips(); memberInput.focus(); } } }, icon('close')),
            ),
          ),
        );
      }

      async function addMember() {
        const value = memberInput.value.trim();
        if (!value) return;
        showError(memberError, null);
        addButton.disabled = true;
        try {
          const user = await users.lookup(value);
          members.set(user.id, user);
          memberInput.value = '';
          renderChips();
        } catch (failure) {
          showError(memberError, failure instanceof api.ApiError && failure.status === 404 ? `No one is called ${value}.` : api.describe(failure));
        } finally {
          addButton.disabled = false;
          memberInput.focus();
        }
      }
      addButton.addEventListener('click', addMember);
      memberInput.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') {
          event.preventDefault(); // Enter adds the person instead of creating the group early
          addMember();
        }
      });

      const form = h(
        'form',
        { class: 'form', id: 'new-group-form' },
        name.row,
        h('div', { class: 'field' }, h('label', { for: 'group-member', text: 'Members' }), h('div', { class: 'inline-input' }, memberInput, addButton), memberError, chips),
        error,
        h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'button primary', id: 'create-group-button', text: 'Create group' })),
      );
      onSubmit(form, error, async () => {
        if (memberInput.value.trim()) await addMember();
        const chat = await api.post('/chats', { type: 'group', name: name.input.value.trim(), member_ids: [...members.keys()] });
        await chats.addChat(chat.id);
        close(chat.id);
      });
      return form;
    }),
  );
}

export function newChannel() {
  openWhenClosed(
    openDialog('New channel', (close) => {
      const error = errorLine();
      const name = field({ label: 'Channel name', name: 'name', id: 'channel-name', required: true, maxlength: 255, autocomplete: 'off' });
      const username = field({ label: 'Public username (optional)', name: 'username', id: 'channel-username', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', hint: 'With a username, anyone can find the channel and subscribe.' });
      const description = field({ label: 'Description (optional)', name: 'description', id: 'channel-description', multiline: true, rows: 2, maxlength: 1000 });
      const form = h('form', { class: 'form', id: 'new-channel-form' }, name.row, username.row, description.row, error, h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'button primary', id: 'create-channel-button', text: 'Create channel' })));
      onSubmit(form, error, async () => {
        const body = { name: name.input.value.trim() };
        if (username.input.value.trim()) body.username = username.input.value.trim().replace(/^@/, '');
        if (description.input.value.trim()) body.description = description.input.value.trim();
        const channel = await api.post('/channels', body);
        await chats.addChat(channel.id);
        close(channel.id);
      });
      return form;
    }),
  );
}

export function findChannel() {
  openWhenClosed(
    openDialog('Find a channel', (close) => {
      const error = errorLine();
      const username = field({ label: 'Channel username', name: 'username', id: 'find-channel-username', required: true, autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'news' });
      const result = h('div', { class: 'channel-result', id: 'channel-result', 'aria-live': 'polite' });
      const form = h('form', { class: 'form', id: 'find-channel-form' }, username.row, error, h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'button primary', text: 'Search' })), result);
      onSubmit(form, error, async () => {
        result.replaceChildren();
        let channel;
        try {
          channel = await api.get(`/channels${api.query({ username: username.input.value.trim().replace(/^@/, '') })}`);
        } catch (failure) {
          if (failure instanceof api.ApiError && failure.status === 404) throw new api.UserError('No public channel has that username.');
          throw failure;
        }
        const action = h('button', { type: 'button', class: 'button primary', id: 'subscribe-button', text: channel.is_subscribed ? 'Open' : 'Subscribe' });
        const actionError = errorLine();
        action.addEventListener('click', async () => {
          action.disabled = true;
          try {
            if (!channel.is_subscribed) await api.post(`/channels/${channel.id}/subscribe`);
            await chats.addChat(channel.id);
            close(channel.id);
          } catch (failure) {
            showError(actionError, api.describe(failure));
            action.disabled = false;
          }
        });
        replaceChildren(result,
          h(
            'div',
            { class: 'card' },
            h('h3', {}, icon('megaphone'), ' ', channel.name),
            channel.username ? h('p', { class: 'muted', text: `@${channel.username}` }) : null,
            channel.description ? h('p', { text: channel.description }) : null,
            h('p', { class: 'muted', text: count(channel.subscriber_count, 'subscriber') }),
            actionError,
            action,
          ),
        );
        action.focus();
      });
      return form;
    }),
  );
}

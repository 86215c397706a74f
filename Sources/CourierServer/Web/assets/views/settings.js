// Settings: profile, Telegram linking and relay preference, calls ("Relay all my calls"),
// two-factor enrolment (with a QR code drawn here), bots (bot-settings.js), signed-in devices, and
// signing out.
import * as api from '../lib/api.js';
import * as session from '../lib/session.js';
import * as sync from '../lib/sync.js';
import * as notifications from '../lib/notifications.js';
import { choose } from '../lib/dialog.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorLine, field, onSubmit, showError } from '../lib/forms.js';
import { icon } from '../lib/icons.js';
import { fullDate } from '../lib/format.js';
import { drawQr } from '../lib/qr.js';
import { href } from '../lib/router.js';
import { store } from '../lib/store.js';
import { renderBots } from './bot-settings.js';

const RELAY_MODES = [
  { value: 'offline', label: 'Only while I am offline' },
  { value: 'always', label: 'Always' },
  { value: 'never', label: 'Never' },
];

export function renderSettings(container) {
  let mounted = true;
  const profile = h('section', { class: 'settings-section', id: 'settings-profile', 'aria-labelledby': 'profile-title' });
  const telegram = h('section', { class: 'settings-section', id: 'settings-telegram', 'aria-labelledby': 'telegram-title' });
  const callSettings = h('section', { class: 'settings-section', id: 'settings-calls', 'aria-labelledby': 'calls-title' });
  const twoFactor = h('section', { class: 'settings-section', id: 'settings-2fa', 'aria-labelledby': 'twofa-title' });
  const alerts = h('section', { class: 'settings-section', id: 'settings-notifications', 'aria-labelledby': 'notifications-title' });
  const botSettings = h('section', { class: 'settings-section', id: 'settings-bots', 'aria-labelledby': 'bots-title' });
  const sessions = h('section', { class: 'settings-section', id: 'settings-sessions', 'aria-labelledby': 'sessions-title' });
  const signOut = h('button', { type: 'button', class: 'button danger wide', id: 'sign-out-button', text: 'Sign out', on: { click: () => sync.signOut() } });

  replaceChildren(container,
    h(
      'section',
      { class: 'page settings-page', 'aria-labelledby': 'settings-title' },
      h('header', { class: 'page-header' },
        h('a', { class: 'icon-button back-button', href: href('home'), 'aria-label': 'Back to chats' }, icon('back')),
        h('h2', { id: 'settings-title', text: 'Settings' }),
      ),
      h('div', { class: 'page-body' }, profile, telegram, callSettings, alerts, twoFactor, botSettings, sessions, signOut),
    ),
  );

  renderProfile(profile);
  renderTelegram(telegram, () => mounted);
  renderCalls(callSettings, () => mounted);
  renderNotifications(alerts);
  renderTwoFactor(twoFactor, () => mounted);
  renderBots(botSettings, () => mounted);
  renderSessions(sessions, () => mounted);
  return () => {
    mounted = false;
  };
}

function renderProfile(section) {
  const me = store.me;
  const error = errorLine();
  const saved = h('p', { class: 'notice success', role: 'status', hidden: true, text: 'Saved.' });
  const username = field({ label: 'Username', name: 'username', id: 'profile-username', value: me.username, required: true, minlength: 5, maxlength: 32, autocapitalize: 'off', spellcheck: 'false' });
  const bio = field({ label: 'Bio', name: 'bio', id: 'profile-bio', multiline: true, rows: 3, maxlength: 500, value: me.bio ?? '', placeholder: 'A few words about you' });
  const form = h(
    'form',
    { class: 'form', id: 'profile-form' },
    h('p', { class: 'muted', text: `Phone ${me.phone ?? ''}${me.email ? ` · ${me.email}` : ''}` }),
    username.row,
    bio.row,
    error,
    saved,
    h('button', { type: 'submit', class: 'button primary', text: 'Save profile' }),
  );
  onSubmit(form, error, async () => {
    saved.hidden = true;
    const text = bio.input.value.trim();
    const updated = await api.patch('/users/me', { username: username.input.value.trim(), bio: text ? text : null });
    sync.setMe(updated);
    saved.hidden = false;
  });
  replaceChildren(section, h('h3', { id: 'profile-title', text: 'Profile' }), form);
}

async function renderTelegram(section, isMounted) {
  const body = h('div', { class: 'settings-body' }, h('p', { class: 'muted', text: 'Loading…' }));
  replaceChildren(section,
    h('h3', { id: 'telegram-title', text: 'Telegram notifications' }),
    h('p', { class: 'muted', text: 'Courier can tell you through a Telegram bot that a message is waiting. Only an opaque link travels through Telegram, never the message, its sender or the chat.' }),
    body,
  );
  const error = errorLine();

  async function load() {
    let link;
    try {
      link = await api.get('/telegram/link');
    } catch (failure) {
      replaceChildren(body, h('p', { class: 'form-error', text: api.describe(failure) }));
      return;
    }
    if (!isMounted()) return;
    show(link);
  }

  function show(link) {
    showError(error, null);
    if (link.enabled === false) {
      replaceChildren(body, h('p', { id: 'telegram-disabled', text: 'This server does not relay through Telegram.' }));
      return;
    }
    if (!link.linked) {
      const linkArea = h('div', { class: 'telegram-link', id: 'telegram-link', 'aria-live': 'polite' });
      const create = h('button', { type: 'button', class: 'button primary', id: 'telegram-link-button', text: 'Link Telegram' });
      create.addEventListener('click', async () => {
        create.disabled = true;
        showError(error, null);
        try {
          const answer = await api.post('/telegram/link');
          replaceChildren(linkArea,
            h('p', { text: 'Open this link in Telegram and press Start:' }),
            h('p', {}, h('a', { href: answer.url, target: '_blank', rel: 'noopener noreferrer', id: 'telegram-deep-link', class: 'deep-link', text: answer.url })),
            h('p', { class: 'muted', text: `Valid until ${fullDate(answer.expires_at)}. Then come back and refresh this page.` }),
            h('button', { type: 'button', class: 'button', id: 'telegram-linked-button', text: 'I have linked it', on: { click: load } }),
          );
        } catch (failure) {
          showError(error, failure instanceof api.ApiError && failure.code === 'telegram_disabled' ? 'This server does not relay through Telegram.' : api.describe(failure));
        } finally {
          create.disabled = false;
        }
      });
      replaceChildren(body, h('p', { id: 'telegram-status', text: 'Not linked.' }), create, linkArea, error);
      return;
    }
    const select = h(
      'select',
      { id: 'relay-mode', name: 'relay_mode' },
      RELAY_MODES.map((mode) => h('option', { value: mode.value, selected: mode.value === link.relay_mode, text: mode.label })),
    );
    select.addEventListener('change', async () => {
      showError(error, null);
      try {
        show(await api.patch('/telegram/link', { relay_mode: select.value }));
      } catch (failure) {
        showError(error, api.describe(failure));
      }
    });
    replaceChildren(body,
      h('p', { id: 'telegram-status', text: `Linked${link.linked_at ? ` since ${fullDate(link.linked_at)}` : ''}.` }),
      h('div', { class: 'field' }, h('label', { for: 'relay-mode', text: 'Notify me through Telegram' }), select),
      error,
      h('button', {
        type: 'button',
        class: 'button danger',
        text: 'Unlink Telegram',
        on: {
          click: async () => {
            try {
              await api.del('/telegram/link');
              load();
            } catch (failure) {
              showError(error, api.describe(failure));
            }
          },
        },
      }),
    );
  }
  load();
}

/** "Relay all my calls" (`/calls/settings {relay_only}`): calls then go through the TURN relay only,
 *  so the other side learns the relay's address and never this person's. */
async function renderCalls(section, isMounted) {
  const error = errorLine();
  const toggle = h('input', { type: 'checkbox', class: 'toggle', id: 'relay-calls', name: 'relay_only', disabled: true, 'aria-describedby': 'relay-calls-hint' });
  replaceChildren(section,
    h('h3', { id: 'calls-title', text: 'Calls' }),
    h('div', { class: 'toggle-row' }, toggle, h('label', { for: 'relay-calls', text: 'Relay all my calls' })),
    h('p', { class: 'muted', id: 'relay-calls-hint', text: 'Your calls then always go through the server’s relay, so the person you talk to never learns your IP address (and with it roughly where you are). The sound and picture may be a little slower.' }),
    error,
  );
  toggle.addEventListener('change', async () => {
    toggle.disabled = true;
    showError(error, null);
    try {
      const answer = await api.patch('/calls/settings', { relay_only: toggle.checked });
      toggle.checked = answer.relay_only;
    } catch (failure) {
      toggle.checked = !toggle.checked;
      showError(error, api.describe(failure));
    } finally {
      toggle.disabled = false;
    }
  });
  try {
    const settings = await api.get('/calls/settings');
    if (!isMounted()) return;
    toggle.checked = settings.relay_only;
    toggle.disabled = false;
  } catch (failure) {
    showError(error, api.describe(failure));
  }
}

async function renderTwoFactor(section, isMounted) {
  const body = h('div', { class: 'settings-body' }, h('p', { class: 'muted', text: 'Loading…' }));
  replaceChildren(section, h('h3', { id: 'twofa-title', text: 'Two-step verification' }), body);

  async function load() {
    try {
      const { enabled } = await api.get('/auth/2fa');
      if (isMounted()) (enabled ? showEnabled : showDisabled)();
    } catch (failure) {
      replaceChildren(body, h('p', { class: 'form-error', text: api.describe(failure) }));
    }
  }

  function showDisabled() {
    const error = errorLine();
    const start = h('button', { type: 'button', class: 'button primary', id: 'twofa-setup-button', text: 'Set up two-step verification' });
    start.addEventListener('click', async () => {
      start.disabled = true;
      try {
        showEnrolment(await api.post('/auth/2fa/setup'));
      } catch (failure) {
        showError(error, api.describe(failure));
        start.disabled = false;
      }
    });
    replaceChildren(body, h('p', { id: 'twofa-status', text: 'Off. Add a code from an authenticator app to every sign-in.' }), start, error);
  }

  function showEnrolment({ secret, otpauth_uri: uri }) {
    const canvas = h('canvas', { class: 'qr-code', id: 'twofa-qr', role: 'img', 'aria-label': 'QR code of the two-step verification secret' });
    const error = errorLine();
    const code = field({ label: 'Code from the app', name: 'code', id: 'twofa-code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: 8 });
    const form = h('form', { class: 'form', id: 'twofa-confirm-form' }, code.row, error, h('button', { type: 'submit', class: 'button primary', text: 'Turn on' }));
    onSubmit(form, error, async () => {
      const answer = await api.post('/auth/2fa/confirm', { code: code.input.value.trim() });
      showRecoveryCodes(answer.recovery_codes ?? []);
    });
    replaceChildren(body,
      h('ol', { class: 'steps' },
        h('li', { text: 'Scan this QR code with an authenticator app (or enter the key by hand).' }),
        h('li', { text: 'Type the six-digit code the app shows.' }),
      ),
      canvas,
      h('p', { class: 'muted', text: 'Key' }),
      h('p', {}, h('code', { class: 'secret', id: 'twofa-secret', text: secret })),
      h('p', { class: 'muted', text: 'Or open this URI in the app:' }),
      h('p', {}, h('code', { class: 'otpauth-uri', id: 'twofa-uri', text: uri })),
      form,
    );
    drawQr(canvas, uri, { level: 'M', scale: 5 });
    code.input.focus();
  }

  function showRecoveryCodes(codes) {
    replaceChildren(body,
      h('p', { class: 'notice success', role: 'status', text: 'Two-step verification is on.' }),
      h('p', { text: 'Keep these recovery codes somewhere safe. Each works once if you lose your phone. They are shown only now.' }),
      h('ul', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', { text: c })))),
      h('button', { type: 'button', class: 'button', text: 'Done', on: { click: load } }),
    );
  }

  function showEnabled() {
    const error = errorLine();
    const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const code = field({ label: 'Code from the app, or a recovery code', name: 'code', autocomplete: 'one-time-code', required: true });
    const form = h('form', { class: 'form', id: 'twofa-disable-form' }, password.row, code.row, error, h('button', { type: 'submit', class: 'button danger', text: 'Turn off' }));
    onSubmit(form, error, async () => {
      const value = code.input.value.trim();
      const request = { password: password.input.value, ...(/^\d{6,8}$/.test(value) ? { code: value } : { recovery_code: value }) };
      await api.post('/auth/2fa/disable', request);
      load();
    });
    replaceChildren(body, h('p', { id: 'twofa-status', text: 'On. Sign-ins need a code from your authenticator app.' }), h('details', {}, h('summary', { text: 'Turn off two-step verification' }), form));
  }

  load();
}

async function renderSessions(section, isMounted) {
  const list = h('ul', { class: 'session-list', id: 'session-list' });
  const error = errorLine();
  replaceChildren(section, h('h3', { id: 'sessions-title', text: 'Devices' }), list, error);

  async function load() {
    try {
      const { sessions } = await api.get('/auth/sessions');
      if (!isMounted()) return;
      replaceChildren(list,
        ...sessions.map((s) =>
          h(
            'li',
            { class: 'session-row', dataset: { sessionId: s.id } },
            h('span', { class: 'session-info' },
              h('strong', { text: s.device_name || 'Unknown device' }),
              h('span', { class: 'muted', text: `${s.ip_address ?? ''} · last active ${fullDate(s.last_seen_at)}` }),
            ),
            s.current || s.id === session.sessionId()
              ? h('span', { class: 'role-badge', text: 'this device' })
              : h('button', { type: 'button', class: 'button small danger', text: 'Sign out', 'aria-label': `Sign out ${s.device_name || 'device'}`, on: { click: () => revoke(s) } }),
          ),
        ),
      );
    } catch (failure) {
      showError(error, api.describe(failure));
    }
  }

  async function revoke(target) {
    const sure = await choose('Sign out this device?', `${target.device_name || 'The device'} will need to sign in again.`, [
      { label: 'Sign out', value: true, className: 'danger' },
      { label: 'Cancel', value: false },
    ]);
    if (!sure) return;
    try {
      await api.del(`/auth/sessions/${target.id}`);
      load();
    } catch (failure) {
      showError(error, api.describe(failure));
    }
  }

  load();
}

/** Desktop notifications: the browser asks once, from this button. */
function renderNotifications(section) {
  const status = h('p', { class: 'muted', id: 'notifications-status' });
  const button = h('button', { type: 'button', class: 'button', id: 'notifications-button', text: 'Turn on desktop notifications' });
  const show = () => {
    const state = notifications.permission();
    status.textContent = {
      granted: 'On: new messages in chats that are not muted show as notifications while Courier is in the background.',
      denied: 'Blocked in this browser’s site settings.',
      unsupported: 'This browser cannot show notifications.',
      default: 'Off.',
    }[state];
    button.hidden = state !== 'default';
  };
  button.addEventListener('click', async () => {
    await notifications.enable();
    show();
  });
  replaceChildren(section, h('h3', { id: 'notifications-title', text: 'Notifications' }), status, button);
  show();
}

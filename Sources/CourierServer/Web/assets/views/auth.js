// Sign in (with the second step when two-factor authentication is on) and registration.
import * as api from '../lib/api.js';
import * as session from '../lib/session.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorLine, field, onSubmit } from '../lib/forms.js';
import { currentRoute } from '../lib/router.js';

/** A name for this device in the sessions list, e.g. "Chrome on Linux". */
function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const system = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return `Courier Web, ${browser}${system ? ` on ${system}` : ''}`;
}

/** Which login field an identifier is: phone (+…), email (…@…), or username. */
function identifierField(identifier) {
  if (identifier.startsWith('+')) return 'phone';
  if (identifier.includes('@')) return 'email';
  return 'username';
}

export function renderAuth(root, { message, onSignedIn }) {
  const card = h('main', { class: 'auth-card', id: 'auth' });
  const reference = currentRoute().name === 'reference';
  replaceChildren(root,
    h(
      'div',
      { class: 'auth-screen' },
      h('div', { class: 'auth-logo' }, h('img', { src: '/assets/icon.svg', alt: '', width: 96, height: 96 })),
      h('h1', { class: 'auth-title', text: 'Courier' }),
      h('p', { class: 'auth-subtitle', text: reference ? 'Sign in to open the message you were sent.' : 'Your messages stay on your server.' }),
      card,
    ),
  );

  const finish = (answer) => {
    session.save(answer);
    onSignedIn();
  };

  function showSignIn(notice) {
    const error = errorLine();
    const identifier = field({ label: 'Username, phone or email', name: 'identifier', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
    const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const form = h(
      'form',
      { class: 'form', id: 'sign-in-form', 'aria-label': 'Sign in' },
      h('h2', { text: 'Sign in' }),
      notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
      identifier.row,
      password.row,
      error,
      h('button', { type: 'submit', class: 'button primary wide', text: 'Sign in' }),
      h('p', { class: 'auth-switch' }, 'New here? ', h('button', { type: 'button', class: 'link-button', text: 'Create an account', on: { click: showRegister } })),
    );
    onSubmit(form, error, async () => {
      const id = identifier.input.value.trim();
      const credentials = { [identifierField(id)]: id, password: password.input.value, device_name: deviceName() };
      try {
        finish(await api.post('/auth/login', credentials, { auth: false }));
      } catch (failure) {
        if (failure instanceof api.ApiError && failure.code === 'two_factor_required') {
          showSecondFactor(credentials);
          return;
        }
        throw failure;
      }
    });
    replaceChildren(card, form);
    identifier.input.focus();
  }

  function showSecondFactor(credentials) {
    let useRecovery = false;
    const error = errorLine();
    const code = field({ label: 'Code from your authenticator app', name: 'totp_code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: 12 });
    const toggle = h('button', { type: 'button', class: 'link-button', text: 'Use a recovery code instead' });
    toggle.addEventListener('click', () => {
      useRecovery = !useRecovery;
      code.row.querySelector('label').textContent = useRecovery ? 'Recovery code' : 'Code from your authenticator app';
      code.input.name = useRecovery ? 'recovery_code' : 'totp_code';
      code.input.inputMode = useRecovery ? 'text' : 'numeric';
      toggle.textContent = useRecovery ? 'Use the authenticator app' : 'Use a recovery code instead';
      code.input.focus();
    });
    const form = h(
      'form',
      { class: 'form', id: 'two-factor-form', 'aria-label': 'Two-step verification' },
      h('h2', { text: 'Two-step verification' }),
      h('p', { class: 'muted', text: 'Your account is protected with two-factor authentication.' }),
      code.row,
      error,
      h('button', { type: 'submit', class: 'button primary wide', text: 'Verify' }),
      h('p', { class: 'auth-switch' }, toggle, ' · ', h('button', { type: 'button', class: 'link-button', text: 'Back', on: { click: () => showSignIn() } })),
    );
    onSubmit(form, error, async () => {
      const value = code.input.value.trim();
      const body = { ...credentials, [useRecovery ? 'recovery_code' : 'totp_code']: value };
      finish(await api.post('/auth/login', body, { auth: false }));
    });
    replaceChildren(card, form);
    code.input.focus();
  }

  function showRegister() {
    const error = errorLine();
    const phone = field({ label: 'Phone number', name: 'phone', type: 'tel', autocomplete: 'tel', required: true, placeholder: '+14155550123', hint: 'International format, starting with +' });
    const username = field({ label: 'Username', name: 'username', autocomplete: 'username', required: true, minlength: 5, maxlength: 32, pattern: '[A-Za-z0-9_]{5,32}', autocapitalize: 'off', spellcheck: 'false', hint: '5–32 letters, digits or _' });
    const email = field({ label: 'Email (optional)', name: 'email', type: 'email', autocomplete: 'email' });
    const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, hint: 'At least 8 characters' });
    const form = h(
      'form',
      { class: 'form', id: 'register-form', 'aria-label': 'Create an account' },
      h('h2', { text: 'Create an account' }),
      phone.row,
      username.row,
      email.row,
      password.row,
      error,
      h('button', { type: 'submit', class: 'button primary wide', text: 'Create account' }),
      h('p', { class: 'auth-switch' }, 'Have an account? ', h('button', { type: 'button', class: 'link-button', text: 'Sign in', on: { click: () => showSignIn() } })),
    );
    onSubmit(form, error, async () => {
      const body = {
        phone: phone.input.value.trim(),
        username: username.input.value.trim(),
        password: password.input.value,
        device_name: deviceName(),
      };
      if (email.input.value.trim()) body.email = email.input.value.trim();
      finish(await api.post('/auth/register', body, { auth: false }));
    });
    replaceChildren(card, form);
    phone.input.focus();
  }

  showSignIn(message);
  return () => {};
}

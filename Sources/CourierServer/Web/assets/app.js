// The entry point: shows sign-in or the app, and switches between them as the session starts
// and ends (also when it ends in another tab or on the server).
import * as api from './lib/api.js';
import * as session from './lib/session.js';
import * as sync from './lib/sync.js';
import { h, replaceChildren } from './lib/dom.js';
import { store } from './lib/store.js';
import { renderAuth } from './views/auth.js';
import { renderShell } from './views/shell.js';

const root = document.getElementById('app');
let teardown = null;
let retryTimer = null;

function replaceScreen(render) {
  clearTimeout(retryTimer);
  teardown?.();
  teardown = null;
  teardown = render() ?? null;
}

function showAuth(message) {
  sync.stop();
  store.reset();
  replaceScreen(() => renderAuth(root, { message, onSignedIn: startApp }));
}

async function startApp() {
  replaceScreen(() => {
    replaceChildren(root, h('p', { class: 'boot', text: 'Loading…' }));
  });
  try {
    sync.setMe(await api.get('/users/me'));
    replaceScreen(() => renderShell(root));
    await sync.start(() => showAuth('Your session has ended. Please sign in again.'));
  } catch (error) {
    if (error instanceof session.SessionExpired) {
      showAuth(error.message);
      return;
    }
    // The server is unreachable (or restarting): say so, and try again by itself.
    sync.stop();
    replaceScreen(() => {
      replaceChildren(root,
        h(
          'div',
          { class: 'boot', role: 'status' },
          h('p', { text: 'Cannot reach the Courier server. Trying again…' }),
          h('button', { type: 'button', class: 'button', on: { click: startApp } }, 'Try now'),
        ),
      );
    });
    retryTimer = setTimeout(startApp, 3000);
  }
}

session.onSignedOut(() => showAuth());

if (session.isSignedIn()) startApp();
else showAuth();

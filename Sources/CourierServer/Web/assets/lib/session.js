// The signed-in session: tokens in localStorage, and their refresh.
//
// The refresh token rotates and works once; presenting a spent one signs the whole session out.
// So refreshes are serialized: one in flight per tab (a shared promise) and one at a time across
// tabs (a Web Lock). Inside the lock a tab re-reads the stored token: if another tab rotated it
// meanwhile, it uses the new pair instead of refreshing again with the spent one.

const KEYS = {
  token: 'courier.token', // the access token; the key name is shared with the old reference page
  expiresAt: 'courier.token_expires_at',
  refresh: 'courier.refresh_token',
  sessionId: 'courier.session_id',
  userId: 'courier.user_id',
};

/** Refresh when the access token has less than this left, so requests never carry an expired one. */
const REFRESH_MARGIN_MS = 2 * 60 * 1000;

/** The session is over (refresh refused, or signed out elsewhere): sign in again. */
export class SessionExpired extends Error {
  constructor(message = 'Your session has ended. Please sign in again.') {
    super(message);
    this.name = 'SessionExpired';
  }
}

const signedOutListeners = new Set();

/** Calls `listener` when the session ends, in this tab or another one. */
export function onSignedOut(listener) {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

function notifySignedOut() {
  for (const listener of signedOutListeners) listener();
}

// Another tab signed out (removed the token): follow it.
window.addEventListener('storage', (event) => {
  if (event.key === KEYS.token && event.newValue === null && event.oldValue !== null) notifySignedOut();
});

export function isSignedIn() {
  return Boolean(localStorage.getItem(KEYS.token) && localStorage.getItem(KEYS.refresh));
}

export function userId() {
  return localStorage.getItem(KEYS.userId);
}

export function sessionId() {
  return localStorage.getItem(KEYS.sessionId);
}

/** The current access token as stored, without refreshing (for the WebSocket URL after `fresh()`). */
export function storedAccessToken() {
  return localStorage.getItem(KEYS.token);
}

export function storedRefreshToken() {
  return localStorage.getItem(KEYS.refresh);
}

/** Stores the answer of register, login or refresh. */
export function save(answer) {
  localStorage.setItem(KEYS.token, answer.token);
  localStorage.setItem(KEYS.refresh, answer.refresh_token);
  if (answer.token_expires_at) localStorage.setItem(KEYS.expiresAt, answer.token_expires_at);
  if (answer.session_id) localStorage.setItem(KEYS.sessionId, answer.session_id);
  if (answer.user?.id) localStorage.setItem(KEYS.userId, answer.user.id);
}

/** Forgets the session in this browser (all tabs follow through the storage event). */
export function clear() {
  const wasSignedIn = localStorage.getItem(KEYS.token) !== null;
  for (const key of Object.values(KEYS)) localStorage.removeItem(key);
  if (wasSignedIn) notifySignedOut();
}

let refreshInFlight = null;

/**
 * Exchanges the refresh token for a new pair. `seen` is the refresh token the caller saw when it
 * decided to refresh; if the stored one differs, another tab already did it and nothing is sent.
 * Throws `SessionExpired` when the server refuses (the session is then cleared), or a network
 * error when the server cannot be reached (the session is kept, to try again later).
 */
export function refresh(seen = storedRefreshToken()) {
  refreshInFlight ??= serialized(() => refreshOnce(seen)).finally(() => {
    refreshInFlight = null;
  });
  return refreshInFlight;
}

function serialized(task) {
  // Web Locks exist in secure contexts (HTTPS, localhost). Elsewhere only the in-tab promise
  // serializes, and a refresh raced by two tabs signs the session out: the safe failure.
  if (navigator.locks?.request) return navigator.locks.request('courier.refresh', task);
  return task();
}

async function refreshOnce(seen) {
  const current = storedRefreshToken();
  if (!current) throw new SessionExpired();
  if (seen && current !== seen) return; // rotated by another tab meanwhile
  const response = await fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: current }),
  });
  if (response.status === 401 || response.status === 400) {
    clear();
    throw new SessionExpired();
  }
  if (!response.ok) throw new Error(`Refreshing the session failed (HTTP ${response.status}).`);
  save(await response.json());
}

/** An access token that is valid for a while yet, refreshing first when it is about to expire. */
export async function freshAccessToken() {
  const expiresAt = Date.parse(localStorage.getItem(KEYS.expiresAt) ?? '');
  if (Number.isFinite(expiresAt) && expiresAt - Date.now() < REFRESH_MARGIN_MS) {
    await refresh(storedRefreshToken());
  }
  const token = storedAccessToken();
  if (!token) throw new SessionExpired();
  return token;
}

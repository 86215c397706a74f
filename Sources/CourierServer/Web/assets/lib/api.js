// The REST client: JSON in and out, the Bearer token on every call, and one refresh-and-retry
// when the server says the access token is no longer good.
import * as session from './session.js';

/** An error answer of the API: `status`, its stable `code`, the `field` it is about. */
export class ApiError extends Error {
  constructor(status, error = {}) {
    super(error.message || `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code ?? 'http_' + status;
    this.field = error.field ?? null;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  constructor() {
    super('Cannot reach the server. Check your connection.');
    this.name = 'NetworkError';
  }
}

/** The longest a request waits for a rate limit to pass before it reports the 429. */
const MAX_RETRY_AFTER_S = 10;

/** Codes of a 401 that a refreshed access token can cure. */
const REFRESHABLE = new Set(['token_expired', 'token_invalid', 'unauthorized']);
// 401s that mean this session is over. Any other 401 (a wrong password or code typed into a
// form) belongs to the form that sent it, not to the session.
const SESSION_OVER = new Set([...REFRESHABLE, 'session_revoked', 'refresh_token_invalid', 'refresh_token_reused']);

/**
 * Calls `/api/v1<path>`. Options: `body` (sent as JSON), `data` (a Blob or buffer sent as it is,
 * its Content-Type in `headers`), `headers`, `auth` (default true), `signal` (an AbortSignal:
 * aborting rejects with the AbortError itself), `raw` (resolve with the Response, for its headers).
 * Resolves with the parsed JSON (or null for 204); rejects with `ApiError`, `NetworkError` or
 * `session.SessionExpired`.
 */
export async function request(method, path, { body, data, headers = {}, auth = true, signal, raw = false } = {}) {
  let refreshed = false;
  let rateLimitWaits = 0;
  for (;;) {
    const init = { method, headers: { Accept: 'application/json', ...headers } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    } else if (data !== undefined) {
      init.body = data;
    }
    if (signal) init.signal = signal;
    let refreshSeen = null;
    if (auth) {
      init.headers.Authorization = `Bearer ${await offlineAware(session.freshAccessToken())}`;
      refreshSeen = session.storedRefreshToken();
    }
    let response;
    try {
      response = await fetch(`/api/v1${path}`, init);
    } catch (error) {
      if (error?.name === 'AbortError') throw error; // cancelled on purpose: not a network problem
      throw new NetworkError();
    }
    if (response.ok) {
      if (raw) return response;
      return response.status === 204 ? null : response.json();
    }
    if (response.status === 429 && rateLimitWaits++ < 2) {
      // Rate limited: wait as told (a little, at most) and try again.
      const seconds = Math.min(Number(response.headers.get('Retry-After')) || 1, MAX_RETRY_AFTER_S);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      continue;
    }
    const error = new ApiError(response.status, (await response.json().catch(() => ({}))).error);
    if (auth && response.status === 401 && SESSION_OVER.has(error.code)) {
      if (!refreshed && REFRESHABLE.has(error.code)) {
        refreshed = true;
        await offlineAware(session.refresh(refreshSeen));
        continue;
      }
      // Signed out on another device, or refresh did not help: this session is over.
      session.clear();
      throw new session.SessionExpired();
    }
    throw error;
  }
}

/** A refresh that could not reach the server is a NetworkError, like any other request. */
async function offlineAware(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof TypeError) throw new NetworkError();
    throw error;
  }
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, body, options) => request('POST', path, { ...options, body });
export const patch = (path, body, options) => request('PATCH', path, { ...options, body });
export const put = (path, body, options) => request('PUT', path, { ...options, body });
export const del = (path, options) => request('DELETE', path, options);

/** A query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A random id for `client_msg_id` and `Idempotency-Key`. */
export function randomId() {
  return crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A problem worded for the user (e.g. "No one has that username"), shown as it is. */
export class UserError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UserError';
  }
}

/** A sentence for the user about what went wrong. */
export function describe(error) {
  if (error instanceof ApiError || error instanceof NetworkError || error instanceof UserError || error instanceof session.SessionExpired) return error.message;
  return 'Something went wrong. Please try again.';
}

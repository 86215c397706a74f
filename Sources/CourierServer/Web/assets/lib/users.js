// Public profiles of other people, fetched once and remembered (also across reloads, for an hour),
// because the API is rate limited and names rarely change.
import * as api from './api.js';
import { store } from './store.js';

const CACHE_KEY = 'courier.users';
const FRESH_MS = 60 * 60 * 1000;
const inFlight = new Map();

function loadCache() {
  try {
    return JSON.parse(localStorage.getItem(CACHE_KEY) ?? '{}');
  } catch {
    return {};
  }
}

let cache = loadCache();

function saveCache() {
  try {
    localStorage.setItem(CACHE_KEY, JSON.stringify(cache));
  } catch {
    // Storage full or disabled: the in-memory copy still works.
  }
}

/** Remembers profiles that came with another answer (members lists, lookups). */
export function remember(users) {
  let changed = false;
  for (const user of users) {
    if (!user?.id) continue;
    store.users.set(user.id, user);
    cache[user.id] = { user, at: Date.now() };
    changed = true;
  }
  if (changed) {
    saveCache();
    store.emit('users');
  }
}

/** The display name of a user we know, or a placeholder while it loads. */
export function nameOf(userId) {
  if (userId && userId === store.me?.id) return store.me.username;
  return store.users.get(userId)?.username ?? 'Someone';
}

/** Whether a user we know is a bot account (`is_bot` in their profile): their name gets a badge. */
export function isBot(userId) {
  return Boolean(store.users.get(userId)?.is_bot);
}

/** Makes sure the profiles of `ids` are known (fetching the missing or stale ones). */
export async function ensure(ids) {
  const wanted = [...new Set(ids.filter(Boolean))].filter((id) => id !== store.me?.id);
  await Promise.all(wanted.map((id) => ensureOne(id)));
}

function ensureOne(id) {
  const cached = cache[id];
  if (cached && !store.users.has(id)) store.users.set(id, cached.user);
  if (cached && Date.now() - cached.at < FRESH_MS) return Promise.resolve(cached.user);
  if (!inFlight.has(id)) {
    const request = api
      .get(`/users/${encodeURIComponent(id)}`)
      .then((user) => {
        remember([user]);
        return user;
      })
      .catch(() => cached?.user ?? null) // a deleted account or a network hiccup: keep what we had
      .finally(() => inFlight.delete(id));
    inFlight.set(id, request);
  }
  return inFlight.get(id);
}

/** Finds someone by username or phone (phone numbers are E.164, so they start with +). */
export async function lookup(text) {
  const value = text.trim().replace(/^@/, '');
  const byPhone = value.startsWith('+');
  const user = await api.get(`/users${api.query(byPhone ? { phone: value } : { username: value })}`);
  remember([user]);
  return user;
}

/** Forgets cached profiles (sign-out). */
export function forget() {
  cache = {};
  localStorage.removeItem(CACHE_KEY);
}

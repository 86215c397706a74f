// How times, dates and names read in the interface. The server sends ISO 8601 UTC; everything
// here shows local time, in the browser's language.

const DAY = 24 * 60 * 60 * 1000;

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long' });
const dayWithYearFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** "14:05" */
export function clock(iso) {
  return iso ? clockFormat.format(new Date(iso)) : '';
}

/** For the chat list: the time today, the weekday this week, else a short date. */
export function listTime(iso, now = new Date()) {
  if (!iso) return '';
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days <= 0) return clockFormat.format(date);
  if (days < 7) return weekdayFormat.format(date);
  return shortDateFormat.format(date);
}

/** A key that is equal for two times on the same local day (for date separators). */
export function dayKey(iso) {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** The label of a date separator: "Today", "Yesterday", "3 March", "3 March 2025". */
export function dayLabel(iso, now = new Date()) {
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return date.getFullYear() === now.getFullYear() ? dayFormat.format(date) : dayWithYearFormat.format(date);
}

/** "22 Nov 2026, 14:05" */
export function fullDate(iso) {
  return iso ? fullFormat.format(new Date(iso)) : '';
}

/** "last seen 5 minutes ago", for someone offline. */
export function lastSeen(iso, now = Date.now()) {
  if (!iso) return 'offline';
  const minutes = Math.floor((now - Date.parse(iso)) / 60000);
  if (minutes < 1) return 'last seen just now';
  if (minutes < 60) return `last seen ${minutes} minute${minutes === 1 ? '' : 's'} ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `last seen ${hours} hour${hours === 1 ? '' : 's'} ago`;
  return `last seen ${listTime(iso)}`;
}

/** "1 member", "3 subscribers" */
export function count(n, singular, plural = `${singular}s`) {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** One or two letters for an avatar: "Weekend plans" → "WP", "alice_1" → "A". */
export function initials(name) {
  const words = String(name ?? '').split(/[\s_\-.]+/).filter((word) => /^\p{L}/u.test(word));
  if (words.length === 0) return String(name ?? '?').slice(0, 1).toUpperCase() || '?';
  return (words.length === 1 ? words[0][0] : words[0][0] + words[1][0]).toUpperCase();
}

/** A stable colour class (one of eight) for an id, so a person keeps their colour everywhere. */
export function colorClass(id) {
  let hash = 0;
  for (const char of String(id ?? '')) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return `color-${Math.abs(hash) % 8}`;
}

/** A single line preview of a message for the chat list and reply quotes. */
export function preview(message) {
  if (!message) return '';
  if (message.deleted_at) return 'Message deleted';
  const text = (message.content ?? '').replace(/\s+/g, ' ').trim();
  if (text) return text;
  return message.message_type && message.message_type !== 'text' ? `[${message.message_type}]` : '';
}

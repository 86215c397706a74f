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

/** A single line preview of a message for the chat list and reply quotes: its text, or what its
 *  media is and the caption after it ("Photo", "Photo, At the lake"), as Telegram words it. The
 *  line a call left is worded for `viewerId`'s side when given ("Missed call", "Outgoing call · 3:21"). */
export function preview(message, viewerId = null) {
  if (!message) return '';
  if (message.deleted_at) return 'Message deleted';
  if (viewerId && message.metadata?.call) return callSummary(message.metadata.call, viewerId).text;
  const text = (message.content ?? '').replace(/\s+/g, ' ').trim();
  const label = mediaLabel(message);
  if (label) return text ? `${label}, ${text}` : label;
  return text;
}

const MEDIA_LABELS = { photo: 'Photo', video: 'Video', voice: 'Voice message', file: 'File' };
const TYPE_LABELS = { image: 'Photo', video: 'Video', audio: 'Voice message', file: 'File' };

/** "Photo", "Video", "Voice message" or "File" for a message with media ('' for text). The kind of
 *  the first attachment decides (as it decides the message's type); summaries that carry only the
 *  type still read right. */
export function mediaLabel(message) {
  const first = message?.media?.[0];
  if (first) return MEDIA_LABELS[first.kind] ?? 'File';
  return TYPE_LABELS[message?.message_type] ?? '';
}

/** "812 B", "1.4 KB", "23 MB", "1.2 GB" (1 KB = 1024 B, as file managers count). */
export function fileSize(bytes) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** "0:07", "3:25", "1:02:03" for a duration in seconds. */
export function duration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

// ---------------------------------------------------------------------------------------------
// Calls

/** Outcomes that mean the callee never picked up (a missed call on their side). */
const UNANSWERED = new Set(['missed', 'cancelled', 'busy']);

/**
 * The line a call leaves in its DM (`metadata.call`: {outcome, duration_seconds, caller_id, video}),
 * worded for the side of `viewerId`: the caller reads "Outgoing call · 3:21", "Cancelled call", "No
 * answer", "Declined" or "Busy"; the callee "Incoming call · 3:21", "Missed call" or "Declined call".
 * Returns {text, outgoing, missed (a call the viewer missed: shown in red), video}.
 */
export function callSummary(call, viewerId) {
  const outgoing = call?.caller_id === viewerId;
  const outcome = call?.outcome;
  const length = duration(call?.duration_seconds ?? 0);
  let text;
  if (outcome === 'completed' || outcome === 'lost') text = `${outgoing ? 'Outgoing' : 'Incoming'} call · ${length}`;
  else if (outcome === 'declined') text = outgoing ? 'Declined' : 'Declined call';
  else if (outcome === 'cancelled') text = outgoing ? 'Cancelled call' : 'Missed call';
  else if (outcome === 'missed') text = outgoing ? 'No answer' : 'Missed call';
  else if (outcome === 'busy') text = outgoing ? 'Busy' : 'Missed call';
  else text = outgoing ? 'Outgoing call' : 'Incoming call';
  return { text, outgoing, missed: !outgoing && UNANSWERED.has(outcome), video: Boolean(call?.video) };
}

/** What the call screen says for a moment when a call ends (`call_ended`'s outcome), for its side. */
export function callEndNotice(outcome, outgoing, seconds = 0) {
  switch (outcome) {
    case 'completed': return `Call ended · ${duration(seconds)}`;
    case 'lost': return 'Connection lost';
    case 'declined': return outgoing ? 'Declined' : 'Call declined';
    case 'missed': return outgoing ? 'No answer' : 'Missed call';
    case 'cancelled': return outgoing ? 'Call cancelled' : 'Missed call';
    case 'busy': return outgoing ? 'Busy' : 'Missed call';
    default: return 'Call ended';
  }
}

// The inline keyboard of a bot's message (`metadata.reply_markup.inline_keyboard`, Telegram's
// shape: rows of buttons, each with `text` and one of `callback_data` or `url`), read into a
// checked form. Pure (no DOM, no I/O): everything a bot sent is untrusted, so the rules of what
// may show and what a link may open live in one testable place.

/** The most rows and buttons per row shown: the server's limits (100 buttons, 8 a row). */
const MAX_ROWS = 100;
const MAX_PER_ROW = 8;

/**
 * The rows of buttons under `message`: [[{text, kind, data?, url?}]], [] when it has none.
 * `kind` is 'callback' (with `data`), 'url' (with an http or https `url`) or 'unsupported'
 * (other kinds of Telegram's, and links of other schemes: shown, but they do nothing).
 */
export function keyboardRows(message) {
  if (!message || message.deleted_at) return [];
  const rows = message.metadata?.reply_markup?.inline_keyboard;
  if (!Array.isArray(rows)) return [];
  return rows
    .slice(0, MAX_ROWS)
    .map((row) => (Array.isArray(row) ? row.slice(0, MAX_PER_ROW).map(readButton).filter(Boolean) : []))
    .filter((row) => row.length > 0);
}

function readButton(button) {
  if (!button || typeof button !== 'object' || typeof button.text !== 'string') return null;
  const text = button.text;
  if (typeof button.callback_data === 'string') return { text, kind: 'callback', data: button.callback_data };
  if (typeof button.url === 'string') {
    const url = webUrl(button.url);
    return url ? { text, kind: 'url', url } : { text, kind: 'unsupported' };
  }
  return { text, kind: 'unsupported' };
}

/**
 * `value` as an absolute http or https URL, or null. Anything else (javascript:, data:, tg:,
 * a relative path) is refused: a bot's button must never run script in the page or open
 * something other than a web page.
 */
export function webUrl(value) {
  let url;
  try {
    url = new URL(String(value));
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}

/** A string that changes when the buttons do (part of a message row's signature). */
export function keyboardKey(message) {
  const rows = keyboardRows(message);
  return rows.length ? JSON.stringify(rows) : '';
}

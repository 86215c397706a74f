// The small "bot" label after the name of a bot account (`is_bot` in its profile), as Telegram
// shows it: wherever a name shows, people can tell a program from a person.
import { h } from '../lib/dom.js';

export function botBadge() {
  return h('span', { class: 'bot-badge', title: 'This account is a bot', text: 'bot' });
}

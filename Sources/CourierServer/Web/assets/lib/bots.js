// Bots: accounts a person makes for programs that talk to this server through Telegram's Bot API
// (`/bot<token>/…`). Here: the owner's REST calls (list, create, new token, delete), pressing a
// bot's inline button, and the commands the bots of a chat offer (for the composer's "/" menu).
import * as api from './api.js';
import { store } from './store.js';

/** How long a chat's command list is reused before it is asked for again (bots change theirs
 *  with setMyCommands at any time, but typing "/" should not ask the server every time). */
const COMMANDS_FRESH_MS = 15_000;

/**
 * Why `name` cannot be a bot's username, or null when it can: Telegram's rule, which bot owners
 * know (5–32 characters of a–z, 0–9 and _, ending in "bot"). The server checks it too; asking
 * first only spares a round trip and words the problem before the request.
 */
export function botUsernameProblem(name) {
  if (name.length < 5 || name.length > 32) return 'A bot’s username has 5 to 32 characters.';
  if (!/^[A-Za-z0-9_]+$/.test(name)) return 'A bot’s username has only the letters a–z, digits and _.';
  if (!/bot$/i.test(name)) return 'A bot’s username ends in “bot” (like weather_bot).';
  return null;
}

// ---------------------------------------------------------------------------------------------
// The owner's bots

/** The signed-in person's own bots: [{id, username, telegram_id, created_at}]. */
export async function listBots() {
  const answer = await api.get('/bots');
  return answer?.bots ?? [];
}

/** Creates a bot: {bot, token}. The token is in this answer only (the server keeps a hash). */
export function createBot(username) {
  return api.post('/bots', { username });
}

/** A new token for a bot; the old one stops working at once. */
export async function newToken(botId) {
  const answer = await api.post(`/bots/${encodeURIComponent(botId)}/token`);
  return answer.token;
}

/** Deletes a bot (its account goes with it). */
export function deleteBot(botId) {
  return api.del(`/bots/${encodeURIComponent(botId)}`);
}

// ---------------------------------------------------------------------------------------------
// Pressing an inline button

/**
 * Presses the button with `data` under a bot's message. Resolves with the bot's answer once it
 * gave one ({answered: true, text, show_alert, url}) or {answered: false} when it did not within
 * the server's wait (10 s).
 */
export function pressButton(messageId, data) {
  return api.post(`/messages/${encodeURIComponent(messageId)}/callback`, { data });
}

// ---------------------------------------------------------------------------------------------
// Commands

const commandLists = new Map(); // chat id → {at, commands}
const commandRequests = new Map(); // chat id → promise of its list

/**
 * Whether a chat may have bots, as far as this device knows: a DM only when its person is a bot;
 * a group or channel always (its members are not all known here, and the server answers an empty
 * list when none is a bot).
 */
export function mayHaveBots(chat) {
  if (!chat) return false;
  if (chat.type === 'dm') return Boolean(store.users.get(chat.peer_id)?.is_bot);
  return true;
}

/**
 * The commands the bots of a chat offer: [{bot_id, username, command, description}]. A list asked
 * for lately is reused; a failure counts as none (the menu is a help, not a must).
 */
export function commandsOf(chatId) {
  const known = commandLists.get(chatId);
  if (known && Date.now() - known.at < COMMANDS_FRESH_MS) return Promise.resolve(known.commands);
  if (!commandRequests.has(chatId)) {
    const request = api
      .get(`/chats/${encodeURIComponent(chatId)}/bot-commands`)
      .then((answer) => {
        const commands = (answer?.commands ?? []).filter((c) => typeof c?.command === 'string' && c.command);
        commandLists.set(chatId, { at: Date.now(), commands });
        return commands;
      })
      .catch(() => known?.commands ?? [])
      .finally(() => commandRequests.delete(chatId));
    commandRequests.set(chatId, request);
  }
  return commandRequests.get(chatId);
}

/** The command list last fetched for a chat (shown at once while a fresh one is on its way). */
export function knownCommands(chatId) {
  return commandLists.get(chatId)?.commands ?? null;
}

/**
 * The commands that start with what was typed after "/" (case aside), in the bots' order. In a
 * chat with several bots "start@weather_bot" picks one bot's command, as Telegram spells it.
 */
export function matchingCommands(commands, typed) {
  const wanted = typed.toLowerCase();
  const [name, bot] = wanted.split('@');
  return commands.filter((c) => {
    if (bot === undefined) return c.command.toLowerCase().startsWith(name);
    return c.command.toLowerCase() === name && (c.username ?? '').toLowerCase().startsWith(bot);
  });
}

/**
 * The text a picked command puts in the composer: "/start ", or "/start@weather_bot " when
 * another bot of the list has a command of the same name (so the right bot answers).
 */
export function commandText(command, commands) {
  const shared = commands.some((c) => c !== command && c.command.toLowerCase() === command.command.toLowerCase() && c.bot_id !== command.bot_id);
  return shared && command.username ? `/${command.command}@${command.username} ` : `/${command.command} `;
}

/** Forgets the command lists (sign-out). */
export function forgetCommands() {
  commandLists.clear();
}

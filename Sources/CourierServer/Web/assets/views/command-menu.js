// The command menu of a chat with bots, as in Telegram: "/" typed first in the composer lists the
// commands the chat's bots offer (set with setMyCommands), narrowed as the person types. A click,
// Tab or Enter puts "/command " in the composer (Enter on a command typed out in full sends it, as
// it would without the menu); arrow keys move, Escape closes. The input keeps the focus all along
// (the option gone to is announced through aria-activedescendant), so typing goes on undisturbed.
import * as bots from '../lib/bots.js';
import { h, replaceChildren } from '../lib/dom.js';
import { store } from '../lib/store.js';

/** A command being typed: "/" and the start of its name, nothing after it yet. */
const TYPING_COMMAND = /^\/([A-Za-z0-9_@]*)$/;
/** A long list scrolls; more than this is not a menu any more. */
const MAX_SHOWN = 100;

/**
 * The menu of `input`, the composer of `chatId`. `enabled()` says whether it may show now (not
 * while a message is being edited); `onPick()` runs after a command filled the input. Returns
 * {element, handleKey(event): whether the key was the menu's, close()}.
 */
export function commandMenu(input, chatId, { enabled = () => true, onPick = () => {} } = {}) {
  const element = h('ul', { class: 'command-menu', id: 'command-menu', role: 'listbox', 'aria-label': 'Bot commands', hidden: true });
  let commands = []; // the chat's commands, as last fetched
  let shown = []; // those listed now
  let active = 0;
  let run = 0; // the latest lookup: an older answer arriving late is dropped

  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', element.id);

  async function update() {
    const typed = TYPING_COMMAND.exec(input.value)?.[1];
    if (typed === undefined || !enabled() || !bots.mayHaveBots(store.chats.get(chatId))) {
      close();
      return;
    }
    const lookup = (run += 1);
    const known = bots.knownCommands(chatId);
    if (known) show(known, typed); // at once; a fresh list replaces it when it comes
    const fresh = await bots.commandsOf(chatId);
    if (lookup === run) show(fresh, typed);
  }

  function show(list, typed) {
    const wasActive = shown[active];
    commands = list;
    shown = bots.matchingCommands(list, typed).slice(0, MAX_SHOWN);
    if (!shown.length) {
      hide();
      return;
    }
    active = Math.max(0, shown.indexOf(wasActive));
    // Several bots: each command says whose it is.
    const severalBots = new Set(list.map((c) => c.bot_id)).size > 1;
    replaceChildren(element, shown.map((command, index) => option(command, index, severalBots)));
    element.hidden = false;
    markActive();
  }

  function option(command, index, severalBots) {
    return h(
      'li',
      { class: 'command-option', id: `command-option-${index}`, role: 'option', 'aria-selected': 'false', dataset: { command: command.command }, on: { click: () => pick(command) } },
      h('span', { class: 'command-name', text: `/${command.command}` }),
      h('span', { class: 'command-description', text: command.description ?? '' }),
      severalBots && command.username ? h('span', { class: 'command-bot', text: `@${command.username}` }) : null,
    );
  }

  function markActive() {
    [...element.children].forEach((item, index) => item.setAttribute('aria-selected', String(index === active)));
    const current = element.children[active];
    if (!current) return;
    input.setAttribute('aria-activedescendant', current.id);
    current.scrollIntoView({ block: 'nearest' });
  }

  function pick(command) {
    input.value = bots.commandText(command, commands);
    close();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    onPick();
  }

  function hide() {
    shown = [];
    active = 0;
    if (element.hidden) return;
    element.hidden = true;
    replaceChildren(element);
    input.removeAttribute('aria-activedescendant');
  }

  /** Closes the menu, and drops a lookup still on its way. */
  function close() {
    run += 1;
    hide();
  }

  function handleKey(event) {
    if (element.hidden || !shown.length || event.isComposing) return false;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      active = (active + (event.key === 'ArrowDown' ? 1 : -1) + shown.length) % shown.length;
      markActive();
      return true;
    }
    if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey) {
      const command = shown[active];
      if (event.key === 'Enter' && input.value.toLowerCase() === `/${command.command}`.toLowerCase()) {
        close();
        return false; // typed out in full: Enter sends it
      }
      event.preventDefault();
      pick(command);
      return true;
    }
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
      return true;
    }
    return false;
  }

  input.addEventListener('input', update);
  input.addEventListener('blur', close);
  // A click in the menu must not take the focus from the input (its blur would close the menu
  // before the click lands).
  element.addEventListener('pointerdown', (event) => event.preventDefault());

  return { element, handleKey, close };
}

// Checks of the web client's pure modules, run inside the page by e2e.py (execute_async_script),
// so they need no JavaScript runtime besides the browser under test. Reports {failures: [...]}.
const done = arguments[arguments.length - 1];

(async () => {
  const { Timeline } = await import('/assets/lib/timeline.js');
  const { encodeQr } = await import('/assets/lib/qr.js');
  const { initials, dayLabel, preview, fileSize, duration } = await import('/assets/lib/format.js');
  const { Sha256, sha256Hex } = await import('/assets/lib/sha256.js');
  const { kindOf } = await import('/assets/lib/uploads.js');
  const { pickVariant } = await import('/assets/lib/media-links.js');
  const { resample } = await import('/assets/views/voice-note.js');
  const { keyboardRows, keyboardKey, webUrl } = await import('/assets/lib/inline-keyboard.js');
  const { botUsernameProblem, matchingCommands, commandText } = await import('/assets/lib/bots.js');
  const { inlineKeyboard } = await import('/assets/views/inline-keyboard.js');
  const failures = [];
  const check = (name, ok) => {
    if (!ok) failures.push(name);
  };
  const at = (seconds) => new Date(Date.UTC(2026, 0, 1, 12, 0, seconds)).toISOString();
  const message = (seq, extra = {}) => ({ id: `m${seq}`, chat_id: 'c', seq, content: `text ${seq}`, created_at: at(seq), updated_at: at(seq), ...extra });
  const seqs = (t) => t.messages.map((m) => m.seq).join(',');

  // Timeline: order, duplicates, holes, acks, tombstones.
  const t = new Timeline('c');
  t.merge([message(3), message(1), message(2), message(2)]);
  check('merge sorts by seq and drops duplicates', seqs(t) === '1,2,3');
  check('merge ignores other chats', !t.merge([{ ...message(9), chat_id: 'other' }]) && seqs(t) === '1,2,3');
  t.loaded = true;
  t.merge([message(5)]);
  check('contiguousSeq stops before a hole (resume fills it)', t.contiguousSeq === 3);
  check('a message after a hole is detected', t.hasGapBefore(7) && !t.hasGapBefore(6));
  t.addPending({ client_msg_id: 'k1', content: 'hello' });
  check('pending waits for its ack', t.unacknowledged().length === 1);
  t.merge([message(4, { client_msg_id: 'k1' })]);
  check('the stored message settles its pending copy', t.pending.length === 0 && t.contiguousSeq === 5);
  t.merge([message(2, { content: '', deleted_at: at(60), updated_at: at(60) })]);
  t.merge([message(2)]);
  check('a tombstone is not undone by an older copy (resume after a delete)', t.messages[1].deleted_at && t.messages[1].content === '');
  t.addPending({ client_msg_id: 'k2', content: 'nope' });
  t.fail('k2', 'refused');
  check('a refused message is failed and not re-sent', t.findPending('k2').state === 'failed' && t.unacknowledged().length === 0);
  check('edit replaces by id', t.update(message(3, { content: 'changed', edited_at: at(70), updated_at: at(70) })) && t.findById('m3').content === 'changed');
  check('delete for me removes', t.remove('m1') && seqs(t) === '2,3,4,5');

  // QR encoder: sizes by version, and its limits.
  const small = encodeQr('hello', 'M');
  check('"hello" is a version 1 symbol of 21 modules', small.version === 1 && small.size === 21 && small.modules.length === 21);
  const uri = 'otpauth://totp/Courier:someone_with_a_long_name?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Courier';
  const medium = encodeQr(uri, 'M');
  check('an otpauth URI fits at level M', medium.version >= 5 && medium.version <= 10 && medium.size === medium.version * 4 + 17);
  let threw = false;
  try {
    encodeQr('x'.repeat(400), 'M');
  } catch {
    threw = true;
  }
  check('too long for version 10 throws', threw);

  // Formatting.
  check('initials', initials('Weekend plans') === 'WP' && initials('alice_1') === 'A' && initials('') === '?');
  // Yesterday by the calendar, not 24 hours ago (a day around a clock change is 23 or 25 hours).
  const yesterday = new Date();
  yesterday.setDate(yesterday.getDate() - 1);
  check('today and yesterday', dayLabel(new Date().toISOString()) === 'Today' && dayLabel(yesterday.toISOString()) === 'Yesterday');
  check('previews of tombstones', preview({ content: '', deleted_at: at(1) }) === 'Message deleted');

  // Media: the chat list's words for it, sizes, durations.
  const photo = { id: 'p', kind: 'photo', variants: [{ name: 's320', width: 320, height: 213 }, { name: 'm800', width: 800, height: 533 }, { name: 'thumb', width: 200, height: 200 }] };
  check('a photo with a caption reads "Photo, caption"', preview({ content: ' At  the lake ', media: [photo] }) === 'Photo, At the lake');
  check('media without a caption', preview({ content: '', media: [{ kind: 'voice' }] }) === 'Voice message' && preview({ content: '', message_type: 'file' }) === 'File'
    && preview({ content: '', message_type: 'video' }) === 'Video' && preview({ content: 'hi', message_type: 'text' }) === 'hi');
  check('a deleted photo is a deleted message', preview({ content: '', deleted_at: at(1), media: [photo] }) === 'Message deleted');
  check('file sizes', fileSize(812) === '812 B' && fileSize(1300000) === '1.2 MB' && fileSize(25 * 1024 * 1024) === '25 MB' && fileSize(1536) === '1.5 KB');
  check('durations', duration(2.4) === '0:02' && duration(205) === '3:25' && duration(3723) === '1:02:03');
  check('upload kinds', kindOf({ type: 'image/gif' }) === 'photo' && kindOf({ type: 'image/svg+xml' }) === 'file'
    && kindOf({ type: 'video/mp4' }) === 'video' && kindOf({ type: 'audio/mpeg' }) === 'file' && kindOf({ type: '' }) === 'file');
  check('variants: the wanted one, else the largest picture', pickVariant(photo, ['x1280', 'm800']) === 'm800'
    && pickVariant({ variants: [{ name: 's100', width: 100, height: 80 }, { name: 's320', width: 320, height: 240 }] }, ['m800']) === 's320'
    && pickVariant({ variants: [] }, ['m800']) === undefined);
  const bars = resample(Array.from({ length: 100 }, (_, i) => (i === 57 ? 31 : i % 7)), 48);
  check('a waveform of 100 levels makes 48 bars, peaks kept', bars.length === 48 && Math.max(...bars) === 31 && resample(null, 5).join() === '0,0,0,0,0');

  // Bots: usernames, inline keyboards (untrusted: only http(s) links, text never markup), commands.
  check('bot usernames end in "bot", 5 to 32 of a-z 0-9 _', botUsernameProblem('echo_bot') === null && botUsernameProblem('EchoBot') === null
    && botUsernameProblem('echo') !== null && botUsernameProblem('echo_robots') !== null && botUsernameProblem('bad-name_bot') !== null
    && botUsernameProblem('x'.repeat(30) + 'bot') !== null);
  check('only http and https links', webUrl('https://example.com/a?b=1') === 'https://example.com/a?b=1' && webUrl('http://example.com') === 'http://example.com/'
    && webUrl('javascript:alert(1)') === null && webUrl('data:text/html,hi') === null && webUrl('tg://resolve?domain=x') === null && webUrl('/relative') === null);
  const markup = (inline_keyboard) => ({ id: 'b1', content: 'Pick', metadata: { reply_markup: { inline_keyboard } } });
  const rows = keyboardRows(markup([
    [{ text: 'Yes', callback_data: 'y' }, { text: 'Site', url: 'https://example.com' }],
    [{ text: 'Evil', url: 'javascript:alert(1)' }, { text: 'Share', switch_inline_query: '' }, 'junk', { callback_data: 'no text' }],
    [],
  ]));
  check('keyboard rows: callback, url, the rest inert, junk and empty rows dropped', rows.length === 2 && rows[0][0].kind === 'callback' && rows[0][0].data === 'y'
    && rows[0][1].kind === 'url' && rows[1].length === 2 && rows[1].every((b) => b.kind === 'unsupported' && !('url' in b)));
  check('no keyboard: none, not an array, or a deleted message', keyboardRows({ content: 'x' }).length === 0 && keyboardRows(markup('nope')).length === 0
    && keyboardRows({ ...markup([[{ text: 'A', callback_data: 'a' }]]), deleted_at: at(1) }).length === 0 && keyboardKey({ content: 'x' }) === '');
  check('a changed keyboard changes the key', keyboardKey(markup([[{ text: 'A', callback_data: 'a' }]])) !== keyboardKey(markup([[{ text: 'B', callback_data: 'a' }]])));
  const hostile = inlineKeyboard(markup([[{ text: '<img src=x onerror=alert(1)>', callback_data: 'x' }, { text: 'Go', url: 'https://example.com' }, { text: 'Bad', url: 'javascript:alert(1)' }]]));
  const links = hostile.querySelectorAll('a');
  check('button texts stay text; links open apart, never javascript:', hostile.querySelector('img') === null && hostile.textContent.includes('<img src=x')
    && links.length === 1 && links[0].rel.includes('noopener') && links[0].target === '_blank' && hostile.querySelectorAll('button[disabled]').length === 1);
  const commands = [
    { bot_id: 'a', username: 'echo_bot', command: 'start', description: 'Start' },
    { bot_id: 'a', username: 'echo_bot', command: 'menu', description: 'Menu' },
    { bot_id: 'b', username: 'news_bot', command: 'start', description: 'Start news' },
  ];
  check('commands filter by their start, case aside', matchingCommands(commands, '').length === 3 && matchingCommands(commands, 'ME').map((c) => c.command).join() === 'menu'
    && matchingCommands(commands, 'x').length === 0 && matchingCommands(commands, 'start@news').map((c) => c.bot_id).join() === 'b');
  check('a command name two bots share names its bot', commandText(commands[1], commands) === '/menu ' && commandText(commands[2], commands) === '/start@news_bot ');
  check('a timeline takes an edit that changes only the buttons', (() => {
    const buttons = new Timeline('c');
    buttons.merge([message(1, { metadata: { reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } } })]);
    return buttons.merge([message(1, { metadata: { reply_markup: { inline_keyboard: [[{ text: 'B', callback_data: 'b' }]] } } })])
      && buttons.messages[0].metadata.reply_markup.inline_keyboard[0][0].text === 'B';
  })());

  // SHA-256, incremental (for files too large for WebCrypto at once) against WebCrypto.
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  for (const length of [0, 3, 55, 56, 64, 65, 1000, 70000]) {
    const data = new Uint8Array(length).map((_, i) => (i * 31 + length) & 255);
    const expected = hex(await crypto.subtle.digest('SHA-256', data));
    const hash = new Sha256();
    for (let i = 0; i < length; i += 777) hash.update(data.subarray(i, i + 777));
    check(`sha256 of ${length} bytes in pieces`, hash.hex() === expected);
    if (length === 70000) check('sha256 of a Blob', (await sha256Hex(new Blob([data]))) === expected);
  }

  done({ failures });
})().catch((error) => done({ failures: [`threw: ${error}`] }));

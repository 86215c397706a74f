// Checks of the web client's pure call helpers (format.js: the call lines worded for each side,
// the call screen's end notices, previews), run inside the page by calls_e2e.py
// (execute_async_script), like Tests/WebClient/module_checks.js. Reports {failures: [...]}.
const done = arguments[arguments.length - 1];

(async () => {
  const { callSummary, callEndNotice, preview } = await import('/assets/lib/format.js');
  const failures = [];
  const check = (name, ok) => {
    if (!ok) failures.push(name);
  };
  const call = (outcome, extra = {}) => ({ id: 'c1', outcome, duration_seconds: 201, caller_id: 'alice', video: false, ...extra });
  const caller = (c) => callSummary(c, 'alice');
  const callee = (c) => callSummary(c, 'bob');

  check('completed, caller', caller(call('completed')).text === 'Outgoing call · 3:21' && caller(call('completed')).outgoing);
  check('completed, callee', callee(call('completed')).text === 'Incoming call · 3:21' && !callee(call('completed')).missed);
  check('a lost call reads as completed', caller(call('lost', { duration_seconds: 5 })).text === 'Outgoing call · 0:05');
  check('cancelled', caller(call('cancelled')).text === 'Cancelled call' && callee(call('cancelled')).text === 'Missed call');
  check('missed', caller(call('missed')).text === 'No answer' && callee(call('missed')).text === 'Missed call');
  check('declined', caller(call('declined')).text === 'Declined' && callee(call('declined')).text === 'Declined call');
  check('busy', caller(call('busy')).text === 'Busy' && callee(call('busy')).text === 'Missed call');
  check('only the callee misses a call', callee(call('missed')).missed && callee(call('busy')).missed && callee(call('cancelled')).missed
    && !caller(call('missed')).missed && !callee(call('declined')).missed);
  check('video is told apart', callee(call('completed', { video: true })).video && !callee(call('completed')).video);
  check('an unknown outcome still reads', caller(call('future')).text === 'Outgoing call' && callee(call(undefined)).text === 'Incoming call');
  check('long calls', caller(call('completed', { duration_seconds: 3723 })).text === 'Outgoing call · 1:02:03');

  check('end notices', callEndNotice('completed', true, 42) === 'Call ended · 0:42' && callEndNotice('busy', true) === 'Busy'
    && callEndNotice('missed', true) === 'No answer' && callEndNotice('missed', false) === 'Missed call'
    && callEndNotice('declined', true) === 'Declined' && callEndNotice('cancelled', false) === 'Missed call'
    && callEndNotice('lost', false) === 'Connection lost' && callEndNotice('nope', true) === 'Call ended');

  const line = { content: 'Video call · 3:21', metadata: { call: call('completed', { video: true }) } };
  check('previews word a call line for the viewer', preview(line, 'alice') === 'Outgoing call · 3:21' && preview(line, 'bob') === 'Incoming call · 3:21');
  check('without a viewer, the server’s text', preview(line) === 'Video call · 3:21');
  check('a deleted call line is a deleted message', preview({ ...line, deleted_at: '2026-01-01T00:00:00Z' }, 'bob') === 'Message deleted');
  check('other messages are unchanged', preview({ content: 'hi', metadata: { x: 1 } }, 'bob') === 'hi');

  done({ failures });
})().catch((error) => done({ failures: [`threw: ${error}`] }));

// Recording a voice note in the composer: the microphone button (shown while there is nothing to
// send), and while recording a bar with the running time, a button that throws the recording
// away (also Escape) and one that sends it.
import { h } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { duration } from '../lib/format.js';
import { MIN_SECONDS, canRecord, startRecording } from '../lib/recorder.js';

/**
 * `onRecorded({blob, duration, extension})` gets a finished recording; `onError(message)` a
 * reason it could not record; `onChange(recording)` follows the state (the composer hides its
 * input meanwhile).
 */
export function voiceRecorder({ onRecorded, onError, onChange }) {
  const available = canRecord();
  const micButton = h('button', { type: 'button', class: 'send-button mic-button', id: 'record-button', 'aria-label': 'Record a voice message', title: 'Record a voice message' }, icon('mic'));
  const time = h('span', { class: 'recording-time', id: 'recording-time', text: '0:00' });
  const cancelButton = h('button', { type: 'button', class: 'icon-button recording-cancel', id: 'record-cancel', 'aria-label': 'Cancel recording', title: 'Cancel' }, icon('trash'));
  const sendButton = h('button', { type: 'button', class: 'send-button', id: 'record-send', 'aria-label': 'Send voice message', title: 'Send' }, icon('send'));
  const bar = h(
    'div',
    { class: 'recording-bar', id: 'recording-bar', hidden: true },
    cancelButton,
    h('span', { class: 'recording-dot', 'aria-hidden': 'true' }),
    time,
    h('span', { class: 'recording-label', role: 'status', text: 'Recording… Escape cancels' }),
    sendButton,
  );

  /** 'idle' | 'starting' | 'recording' | 'stopping' */
  let state = 'idle';
  let recording = null;
  let ticker = null;

  function setState(next) {
    state = next;
    bar.hidden = state === 'idle';
    bar.dataset.state = state;
    sendButton.disabled = state !== 'recording';
    onChange(state !== 'idle');
  }

  async function start() {
    if (state !== 'idle') return;
    setState('starting');
    try {
      recording = await startRecording();
    } catch (error) {
      setState('idle');
      onError(error.message || 'The microphone could not be used.');
      return;
    }
    if (state !== 'starting') {
      // Cancelled while the browser asked for permission.
      recording.cancel();
      recording = null;
      return;
    }
    setState('recording');
    time.textContent = '0:00';
    ticker = setInterval(() => {
      time.textContent = duration(Math.floor(recording?.elapsed() ?? 0));
    }, 250);
    sendButton.focus();
  }

  async function finish(send) {
    if (state === 'starting') {
      setState('idle');
      return;
    }
    if (state !== 'recording') return;
    setState('stopping');
    clearInterval(ticker);
    const current = recording;
    recording = null;
    try {
      if (!send) {
        await current.cancel();
        return;
      }
      const result = await current.stop();
      if (result.duration >= MIN_SECONDS && result.blob.size > 0) onRecorded(result);
    } finally {
      setState('idle');
    }
  }

  micButton.addEventListener('click', start);
  sendButton.addEventListener('click', () => finish(true));
  cancelButton.addEventListener('click', () => finish(false));
  bar.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      finish(false);
    }
  });

  return {
    micButton,
    bar,
    available,
    get active() {
      return state !== 'idle';
    },
    /** Throws a running recording away (leaving the chat). */
    cancel: () => finish(false),
  };
}

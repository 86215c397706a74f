// The call screen, over everything while a call rings or runs (lib/calls.js keeps `store.call`):
// the other person's name and what is happening (Calling…, Ringing…, Incoming video call, the
// time since the answer and the connection's state), their video full size and this side's
// small, what they turned off (microphone, camera), and the buttons: Accept and Decline while it
// rings here; mute, camera and hang up otherwise. It can be made small, to chat during the call.
// When the call ends it says how ("Busy", "Call ended · 0:42") for a moment.
import * as calls from '../lib/calls.js';
import * as users from '../lib/users.js';
import { h } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { colorClass, initials } from '../lib/format.js';
import { store } from '../lib/store.js';

const CONNECTION_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Reconnecting…',
  failed: 'Connection failed',
  closed: 'Not connected',
};

/** A round button with its label under it. */
function control(id, className, iconName, label, action) {
  const button = h('button', { type: 'button', class: ['call-control', className], id, 'aria-label': label, on: { click: action } }, icon(iconName));
  const caption = h('span', { class: 'call-control-label', text: label, 'aria-hidden': 'true' });
  return { item: h('div', { class: 'call-action' }, button, caption), button, caption };
}

/** Sets a button's icon and label (the mute and camera buttons change with their state). */
function relabel({ button, caption }, iconName, label) {
  if (button.getAttribute('aria-label') === label) return;
  button.replaceChildren(icon(iconName));
  button.setAttribute('aria-label', label);
  caption.textContent = label;
}

/** Shows `stream` in `video` (set once: setting it again would restart the playback). */
function attach(video, stream) {
  if (video.srcObject === stream) return;
  video.srcObject = stream;
  if (stream) video.play().catch(() => {}); // autoplay does it; a refusal is not worth a console error
}

export function renderCallScreen() {
  let minimized = false;
  let ticker = null;
  let shownCall = null;

  // The other side's audio plays through this element too (also while it is hidden: a voice call).
  const remoteVideo = h('video', { class: 'call-remote-video', id: 'call-remote-video', autoplay: true, playsinline: true });
  const localVideo = h('video', { class: 'call-local-video', id: 'call-local-video', autoplay: true, playsinline: true, 'aria-label': 'Your camera' });
  localVideo.muted = true;
  const avatar = h('span', { class: 'avatar large call-avatar', 'aria-hidden': 'true' });
  const name = h('h2', { class: 'call-peer-name', id: 'call-peer-name' });
  const status = h('p', { class: 'call-status', id: 'call-status', 'aria-live': 'polite' });
  const timer = h('p', { class: 'call-timer', id: 'call-timer' });
  const connection = h('p', { class: 'call-connection', id: 'call-connection' });
  const remoteState = h('p', { class: 'call-remote-state', id: 'call-remote-state', 'aria-live': 'polite' });
  const resize = h('button', { type: 'button', class: 'icon-button call-resize', id: 'call-resize', on: { click: () => {
    minimized = !minimized;
    render();
  } } });

  const accept = control('call-accept', 'accept', 'phone', 'Accept', () => calls.accept());
  const decline = control('call-decline', 'decline', 'phone', 'Decline', () => calls.decline());
  const mute = control('call-mute', 'toggle', 'mic', 'Mute', () => calls.toggleMute());
  const camera = control('call-camera', 'toggle', 'video', 'Stop video', () => calls.toggleCamera());
  const hangUp = control('call-hangup', 'hangup', 'phone', 'End call', () => calls.hangUp());

  const element = h(
    'section',
    { class: 'call-screen', id: 'call-screen', role: 'dialog', 'aria-labelledby': 'call-peer-name', hidden: true },
    h(
      'div',
      { class: 'call-stage' },
      remoteVideo,
      h('div', { class: 'call-peer' }, avatar, name, status, timer, connection, remoteState),
      localVideo,
      resize,
    ),
    h('div', { class: 'call-controls' }, mute.item, camera.item, decline.item, hangUp.item, accept.item),
  );

  function render() {
    const call = store.call;
    element.hidden = !call;
    if (!call) {
      coverPage(false);
      attach(remoteVideo, null);
      attach(localVideo, null);
      stopTicking();
      minimized = false;
      shownCall = null;
      return;
    }
    if (call !== shownCall) {
      shownCall = call;
      minimized = false;
    }
    const peerName = users.nameOf(call.peerId);
    const { phase } = call;
    const ringingHere = phase === 'incoming';
    const ended = phase === 'ended';
    const answered = phase === 'active';
    element.dataset.phase = phase;
    element.dataset.video = String(call.video);
    element.dataset.direction = call.outgoing ? 'outgoing' : 'incoming';
    element.dataset.remoteMuted = String(call.remoteMuted);
    element.dataset.remoteCameraOff = String(call.remoteCameraOff);
    element.classList.toggle('minimized', minimized && !ringingHere && !ended);
    coverPage(!element.classList.contains('minimized'));
    element.setAttribute('aria-label', `${call.video ? 'Video call' : 'Call'} with ${peerName}`);
    name.textContent = peerName;
    avatar.className = `avatar large call-avatar ${colorClass(call.peerId)}`;
    avatar.textContent = initials(peerName);

    status.textContent = statusText(call);
    status.hidden = answered && !call.detached;
    connection.hidden = !answered && phase !== 'accepting';
    connection.dataset.state = call.connection;
    connection.textContent = call.detached ? 'The call’s sound was lost when this page reloaded' : CONNECTION_TEXT[call.connection] ?? call.connection;
    const off = [call.remoteMuted ? 'microphone' : null, call.video && call.remoteCameraOff ? 'camera' : null].filter(Boolean);
    remoteState.hidden = !answered || !off.length;
    remoteState.textContent = off.length ? `${peerName}’s ${off.join(' and ')} ${off.length > 1 ? 'are' : 'is'} off` : '';

    const showRemote = call.video && answered && !call.remoteCameraOff && Boolean(call.remoteStream?.getVideoTracks().length);
    attach(remoteVideo, call.remoteStream);
    remoteVideo.hidden = !showRemote;
    attach(localVideo, call.video ? call.localStream : null);
    localVideo.hidden = !call.video || call.cameraOff || !call.localStream;
    element.classList.toggle('showing-video', showRemote);

    accept.item.hidden = !ringingHere;
    decline.item.hidden = !ringingHere;
    hangUp.item.hidden = ringingHere || ended;
    mute.item.hidden = ringingHere || ended || call.detached || !call.localStream;
    camera.item.hidden = mute.item.hidden || !call.video || !calls.hasCamera();
    mute.button.setAttribute('aria-pressed', String(call.muted));
    relabel(mute, call.muted ? 'mic-off' : 'mic', call.muted ? 'Unmute' : 'Mute');
    camera.button.setAttribute('aria-pressed', String(call.cameraOff));
    relabel(camera, call.cameraOff ? 'video-off' : 'video', call.cameraOff ? 'Start video' : 'Stop video');
    resize.hidden = ringingHere || ended;
    resize.replaceChildren(icon(minimized ? 'maximize' : 'minimize'));
    resize.setAttribute('aria-label', minimized ? 'Enlarge the call' : 'Make the call small');

    if (answered) startTicking();
    else stopTicking();
    timer.hidden = !answered;
    timer.textContent = calls.elapsed(call);
  }

  /** While the call fills the screen, what is behind it is out of reach (keyboard, screen readers). */
  function coverPage(covered) {
    for (const sibling of element.parentElement?.children ?? []) {
      if (sibling !== element) sibling.inert = covered;
    }
  }

  function startTicking() {
    ticker ??= setInterval(() => {
      timer.textContent = calls.elapsed();
    }, 1000);
  }

  function stopTicking() {
    clearInterval(ticker);
    ticker = null;
  }

  const cleanups = [store.on('call', render), store.on('users', render)];
  render();
  return {
    element,
    teardown: () => {
      stopTicking();
      cleanups.forEach((cleanup) => cleanup());
    },
  };
}

function statusText(call) {
  switch (call.phase) {
    case 'preparing':
    case 'calling':
      return call.video ? 'Video calling…' : 'Calling…';
    case 'ringing':
      return 'Ringing…';
    case 'incoming':
      return call.video ? 'Incoming video call' : 'Incoming call';
    case 'accepting':
      return 'Connecting…';
    case 'active':
      return call.detached ? 'In progress on this device' : '';
    default:
      return call.notice || 'Call ended';
  }
}

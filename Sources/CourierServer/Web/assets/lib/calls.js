// Voice and video calls in DMs, one to one, with WebRTC in the browser; Courier only passes the
// signalling (README, "Calls"). This is the call's state machine, without any DOM: it keeps
// `store.call` (below) and views/call-screen.js shows it and calls the actions here.
//
// Placing a call: the ICE servers (a TURN credential; `relay_only` → relay candidates only), the
// microphone (and camera), an RTCPeerConnection, the offer once ICE gathering is complete (at most
// 3 s, so that the offer carries its candidates), then `call_invite`. Candidates found later go as
// `call_ice`. Every device of the callee gets `call_incoming` and rings; the first to answer
// (`call_accept` with its answer) wins, the others get `call_accepted {answered_elsewhere}` and
// stop. Either side hangs up; every end comes to every device as `call_ended` with its outcome.
//
// A browser's tabs share one session, and the server tells a call's devices apart by session, so
// the tabs also talk among themselves (a BroadcastChannel): the tab that answers or declines stops
// its sibling tabs ringing, and a tab that finds, after connecting, that "this device" is in a call
// asks whether a sibling tab holds it before showing it as one it can only hang up.
//
// `store.call`, null when no call shows:
//   id            the server's call id (null until the invite is acknowledged)
//   chatId, peerId, video, outgoing
//   phase         'preparing' (media, ICE) | 'calling' (invite sent) | 'ringing' (the callee's
//                 device rings) | 'incoming' (ringing here) | 'accepting' | 'active' | 'ended'
//   connection    the RTCPeerConnection's connectionState ('new' before there is one)
//   muted, cameraOff               this side's microphone and camera
//   remoteMuted, remoteCameraOff   the other side's (from `call_media`)
//   localStream, remoteStream      MediaStreams, or null
//   answeredAt    when the call was answered (ms; the timer counts from it), or null
//   detached      in progress on this device, but not in this page (it was reloaded): it can
//                 only be hung up
//   notice        what an ended call says for a moment ("Busy", "Call ended · 0:05")
import * as api from './api.js';
import * as users from './users.js';
import { callEndNotice, duration } from './format.js';
import { sendFrame } from './socket.js';
import { store } from './store.js';

/** The longest the offer or answer waits for ICE gathering to complete. */
const GATHERING_CAP_MS = 3000;
/** `call_ping` this often during a call (the server ends a call silent on one side for a minute). */
const PING_EVERY_MS = 15_000;
/** A connection that stays 'failed' this long is hung up. */
const FAILED_GRACE_MS = 10_000;
const ACK_TIMEOUT_MS = 10_000;
/** How long an ended call's notice shows. */
const NOTICE_MS = 2500;
/** The server ends a ringing call after 30 s; in case its `call_ended` is lost, stop ringing after this. */
const RING_LIMIT_MS = 45_000;
/** How long to wait for a sibling tab to say that it holds a call. */
const SIBLING_WAIT_MS = 300;
const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 } };

let peer = null;
let pingTimer = null;
let failedTimer = null;
let ringTimer = null;
let noticeTimer = null;
/** The offer of the call ringing here. */
let offerSdp = null;
/** The other side's candidates that came before its session description. */
let remoteCandidates = [];
/** This side's candidates found after its description went, while the call's id is unknown. */
let localCandidates = [];
/** Whether this side's description went: candidates found from then on are sent as `call_ice`. */
let trickling = false;
/** Frames of calls this tab does not know yet: the invite's ack may come after them (busy). */
const early = [];
/** Acks awaited: ref → {resolve, reject, timer}. */
const acks = new Map();
let lastRef = 0;
/** Calls answered or declined in a sibling tab: a late `call_incoming` must not ring again. */
const takenElsewhere = new Set();
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('courier-calls') : null;

// ---------------------------------------------------------------------------------------------
// Actions (the call screen's and the conversation header's buttons)

/** Whether a call is under way here (one that ended and only shows its notice does not count). */
export function isBusy() {
  return Boolean(store.call) && store.call.phase !== 'ended';
}

/** Calls the other person of DM `chatId`, with video or not. Problems end up as the notice. */
export async function startCall(chatId, video) {
  const chat = store.chats.get(chatId);
  if (isBusy() || chat?.type !== 'dm' || !chat.peer_id) return;
  const call = begin({ chatId, peerId: chat.peer_id, video, outgoing: true, phase: 'preparing' });
  try {
    const config = await iceConfiguration();
    const stream = await localMedia(video);
    if (!isCurrent(call)) {
      stopTracks(stream);
      return;
    }
    call.localStream = stream;
    const pc = createPeer(config, call);
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    if (video && !stream.getVideoTracks().length) {
      // No camera: still see the other side's.
      pc.addTransceiver('video', { direction: 'recvonly' });
      call.cameraOff = true;
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (!isCurrent(call)) return;
    trickling = true;
    update(call, { phase: 'calling' });
    const ack = await request({ type: 'call_invite', chat_id: chatId, video, sdp: pc.localDescription.sdp });
    if (!isCurrent(call)) {
      // Hung up while the invite was on its way.
      sendFrame({ type: 'call_hangup', call_id: ack.call_id });
      return;
    }
    call.id = ack.call_id;
    startPing(call);
    for (const candidate of localCandidates.splice(0)) sendFrame({ type: 'call_ice', call_id: call.id, candidate });
    emit();
    for (const frame of early.splice(0)) if (frame.call_id === call.id) handleFrame(frame);
    if (ack.call_state === 'ended' && isCurrent(call)) finish(call, callEndNotice('busy', true));
  } catch (error) {
    if (!isCurrent(call)) return;
    finish(call, api.describe(error));
    // Called at the same moment by the other person: their call rings for us, show it.
    if (error instanceof api.ApiError && error.code === 'already_in_call') reconcile();
  }
}

/** Answers the call ringing here. */
export async function accept() {
  const call = store.call;
  if (call?.phase !== 'incoming') return;
  update(call, { phase: 'accepting' });
  clearTimeout(ringTimer);
  tellTabs(call.id, 'Answered in another tab');
  let sent = false;
  try {
    const config = await iceConfiguration();
    const stream = await localMedia(call.video);
    if (!isCurrent(call)) {
      stopTracks(stream);
      return;
    }
    call.localStream = stream;
    call.cameraOff = call.video && !stream.getVideoTracks().length;
    const pc = createPeer(config, call);
    // The offer first: the tracks then take its transceivers.
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    await applyRemoteCandidates(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    if (!isCurrent(call)) return;
    trickling = true;
    sent = true;
    await request({ type: 'call_accept', call_id: call.id, sdp: pc.localDescription.sdp });
    if (!isCurrent(call)) return;
    update(call, { phase: 'active', answeredAt: Date.now() });
    startPing(call);
    shareMediaState(call);
  } catch (error) {
    if (!isCurrent(call)) return;
    if (error instanceof api.ApiError && error.code === 'call_not_ringing') {
      finish(call, 'Answered on another device');
      return;
    }
    // This side cannot take it (no microphone, say): decline, so the caller does not wait.
    if (!sent) request({ type: 'call_reject', call_id: call.id }).catch(() => {});
    else sendFrame({ type: 'call_hangup', call_id: call.id });
    finish(call, api.describe(error));
  }
}

/** Declines the call ringing here (every device of this person stops ringing). */
export function decline() {
  const call = store.call;
  if (call?.phase !== 'incoming') return;
  tellTabs(call.id, 'Declined in another tab');
  request({ type: 'call_reject', call_id: call.id }).catch(() => {});
  finish(call, 'Call declined');
}

/** Ends the call: cancels one still ringing, ends one in progress. */
export function hangUp(notice = null) {
  const call = store.call;
  if (!call || call.phase === 'ended') return;
  if (call.phase === 'incoming') {
    decline();
    return;
  }
  if (call.id) request({ type: 'call_hangup', call_id: call.id }).catch(() => {});
  const text = notice
    ?? (call.answeredAt ? callEndNotice('completed', call.outgoing, (Date.now() - call.answeredAt) / 1000) : call.outgoing ? 'Call cancelled' : 'Call ended');
  finish(call, text);
}

/** Mutes or unmutes this side's microphone (the other side is told). */
export function toggleMute() {
  const call = store.call;
  if (!call?.localStream || call.phase === 'ended') return;
  call.muted = !call.muted;
  for (const track of call.localStream.getAudioTracks()) track.enabled = !call.muted;
  shareMediaState(call);
  emit();
}

/** Turns this side's camera off or on (the other side is told). */
export function toggleCamera() {
  const call = store.call;
  const tracks = call?.localStream?.getVideoTracks() ?? [];
  if (!tracks.length || call.phase === 'ended') return;
  call.cameraOff = !call.cameraOff;
  for (const track of tracks) track.enabled = !call.cameraOff;
  shareMediaState(call);
  emit();
}

/** Whether this side has a camera in the call (it can be turned off and on). */
export function hasCamera() {
  return Boolean(store.call?.localStream?.getVideoTracks().length);
}

/** The time since the call was answered, as "1:05" ('' before). */
export function elapsed(call = store.call) {
  return call?.answeredAt ? duration(Math.max(0, (Date.now() - call.answeredAt) / 1000)) : '';
}

// ---------------------------------------------------------------------------------------------
// Frames from the server (sync.js passes every `call_*` frame and every ack here)

/** A `call_*` frame. */
export function handleFrame(frame) {
  if (frame.type === 'call_incoming') {
    ring(frame, frame.sdp);
    return;
  }
  const call = store.call;
  if (!call || call.phase === 'ended' || call.id !== frame.call_id) {
    // Not this tab's call; or perhaps it is, and the invite's ack is on its way.
    if (call?.outgoing && !call.id && call.phase === 'calling' && early.length < 50) early.push(frame);
    return;
  }
  switch (frame.type) {
    case 'call_ringing':
      if (call.outgoing && call.phase === 'calling') update(call, { phase: 'ringing' });
      return;
    case 'call_accepted':
      if (!frame.answered_elsewhere) answered(call, frame.sdp);
      else if (!call.outgoing && (call.phase === 'incoming' || call.phase === 'accepting')) finish(call, 'Answered on another device');
      return;
    case 'call_ice':
      addRemoteCandidate(frame.candidate);
      return;
    case 'call_media':
      update(call, { remoteMuted: frame.muted ?? call.remoteMuted, remoteCameraOff: frame.camera_off ?? call.remoteCameraOff });
      return;
    case 'call_ended':
      finish(call, callEndNotice(frame.outcome, call.outgoing, frame.duration_seconds ?? 0));
      return;
    default:
  }
}

/** An `ack`: true when it answers a frame sent here (sync.js then looks no further). */
export function takeAck(frame) {
  const waiting = frame.ref ? acks.get(frame.ref) : null;
  if (!waiting) return false;
  acks.delete(frame.ref);
  clearTimeout(waiting.timer);
  if (frame.error) waiting.reject(new api.ApiError(409, frame.error));
  else waiting.resolve(frame);
  return true;
}

/**
 * After each (re)connection, what the server says this person's call is: one ringing for them
 * shows here too (a tab opened during the ringing can answer, with the offer from the answer);
 * one this tab shows but that ended meanwhile is closed; one in progress "on this device" that no
 * tab here holds (the page was reloaded) is shown, to be hung up.
 */
export async function reconcile() {
  let answer;
  try {
    answer = await api.get('/calls/current');
  } catch {
    return; // offline again, or signed out: the next connection asks again
  }
  const current = answer?.call ?? null;
  const call = isBusy() ? store.call : null;
  if (call?.id && call.id !== current?.id) {
    finish(call, call.outgoing || call.answeredAt ? 'Call ended' : 'Missed call');
  } else if (call?.id) {
    if (!call.outgoing && call.phase === 'incoming' && current.state !== 'ringing') finish(call, 'Answered on another device');
    return;
  }
  if (!current || isBusy()) return;
  const me = store.me?.id;
  if (current.state === 'ringing' && current.callee_id === me && answer.sdp) {
    ring({ call_id: current.id, chat_id: current.chat_id, caller_id: current.caller_id, video: current.video }, answer.sdp);
  } else if (current.state === 'active' && current.on_this_device && !(await heldBySibling(current.id)) && !isBusy()) {
    const outgoing = current.caller_id === me;
    begin({
      id: current.id,
      chatId: current.chat_id,
      peerId: outgoing ? current.callee_id : current.caller_id,
      video: current.video,
      outgoing,
      phase: 'active',
      detached: true,
      connection: 'closed',
      answeredAt: Date.parse(current.accepted_at) || Date.now(),
    });
    users.ensure([store.call.peerId]).catch(() => {});
  }
}

/** Forgets the call (signing out): one under way is hung up first. */
export function reset() {
  const call = store.call;
  if (call?.id && call.phase !== 'ended' && call.phase !== 'incoming') sendFrame({ type: 'call_hangup', call_id: call.id });
  teardown();
  clearTimeout(noticeTimer);
  for (const { reject, timer } of acks.values()) {
    clearTimeout(timer);
    reject(new api.UserError('Signed out.'));
  }
  acks.clear();
  takenElsewhere.clear();
  store.call = null;
  emit();
}

// ---------------------------------------------------------------------------------------------
// The call's life

function begin(fields) {
  teardown();
  clearTimeout(noticeTimer);
  store.call = {
    id: null,
    connection: 'new',
    muted: false,
    cameraOff: false,
    remoteMuted: false,
    remoteCameraOff: false,
    localStream: null,
    remoteStream: null,
    answeredAt: null,
    detached: false,
    notice: '',
    ...fields,
  };
  emit();
  return store.call;
}

/** Shows a call ringing for this person (from `call_incoming`, or `/calls/current`). */
function ring({ call_id: id, chat_id: chatId, caller_id: callerId, video }, sdp) {
  if (!id || !sdp || takenElsewhere.has(id) || store.call?.id === id || isBusy()) return;
  const call = begin({ id, chatId, peerId: callerId, video: Boolean(video), outgoing: false, phase: 'incoming' });
  offerSdp = sdp;
  users.ensure([callerId]).catch(() => {});
  sendFrame({ type: 'call_ringing', call_id: id });
  ringTimer = setTimeout(() => {
    if (isCurrent(call) && call.phase === 'incoming') finish(call, 'Missed call');
  }, RING_LIMIT_MS);
}

/** The callee answered this side's call. */
async function answered(call, sdp) {
  if (!call.outgoing || !peer || (call.phase !== 'calling' && call.phase !== 'ringing')) return;
  update(call, { phase: 'active', answeredAt: Date.now() });
  try {
    await peer.setRemoteDescription({ type: 'answer', sdp });
    await applyRemoteCandidates(peer);
    shareMediaState(call);
  } catch {
    if (isCurrent(call)) hangUp('The call could not connect.');
  }
}

/** Ends the call here: media stopped, the notice shown for a moment, then nothing. */
function finish(call, notice) {
  if (store.call !== call || call.phase === 'ended') return;
  teardown();
  Object.assign(call, { phase: 'ended', notice, localStream: null, remoteStream: null });
  emit();
  noticeTimer = setTimeout(() => {
    if (store.call !== call) return;
    store.call = null;
    emit();
  }, NOTICE_MS);
}

/** Stops the tracks, closes the connection, drops the timers and whatever waited. */
function teardown() {
  stopTracks(store.call?.localStream);
  peer?.close();
  peer = null;
  exposeForTests(null);
  clearInterval(pingTimer);
  clearTimeout(failedTimer);
  clearTimeout(ringTimer);
  offerSdp = null;
  remoteCandidates = [];
  localCandidates = [];
  trickling = false;
  early.length = 0;
}

function isCurrent(call) {
  return store.call === call && call.phase !== 'ended';
}

function update(call, fields) {
  if (store.call !== call) return;
  Object.assign(call, fields);
  emit();
}

function emit() {
  store.emit('call');
}

function startPing(call) {
  clearInterval(pingTimer);
  pingTimer = setInterval(() => {
    if (isCurrent(call) && call.id) sendFrame({ type: 'call_ping', call_id: call.id });
  }, PING_EVERY_MS);
}

/** Tells the other side whether this one is muted or has its camera off (once the call is on). */
function shareMediaState(call) {
  if (call.id && call.phase === 'active' && !call.detached) {
    sendFrame({ type: 'call_media', call_id: call.id, muted: call.muted, camera_off: call.cameraOff });
  }
}

// ---------------------------------------------------------------------------------------------
// WebRTC

/** The RTCPeerConnection's configuration: STUN and TURN with a fresh credential, relay only when
 *  the person relays all their calls, and one transport for all media (so a candidate needs no
 *  media section: every candidate is the first section's). */
async function iceConfiguration() {
  const answer = await api.get('/calls/ice-servers');
  return {
    iceServers: answer.ice_servers ?? [],
    iceTransportPolicy: answer.relay_only ? 'relay' : 'all',
    bundlePolicy: 'max-bundle',
  };
}

function createPeer(config, call) {
  const pc = new RTCPeerConnection(config);
  peer = pc;
  exposeForTests(pc);
  call.remoteStream = new MediaStream();
  pc.addEventListener('track', ({ track, streams }) => {
    if (peer !== pc) return;
    if (streams[0]) call.remoteStream = streams[0];
    else call.remoteStream.addTrack(track);
    emit();
  });
  pc.addEventListener('icecandidate', ({ candidate }) => {
    // Candidates found before the description went are in it; later ones go on their own.
    if (peer !== pc || !trickling || !candidate?.candidate) return;
    if (call.id) sendFrame({ type: 'call_ice', call_id: call.id, candidate: candidate.candidate });
    else localCandidates.push(candidate.candidate);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (peer !== pc) return;
    clearTimeout(failedTimer);
    if (pc.connectionState === 'failed') {
      failedTimer = setTimeout(() => {
        if (peer === pc && pc.connectionState === 'failed') hangUp('Connection failed');
      }, FAILED_GRACE_MS);
    }
    update(call, { connection: pc.connectionState });
  });
  return pc;
}

/** Resolves when ICE gathering is complete, or after GATHERING_CAP_MS at most. */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, GATHERING_CAP_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

function addRemoteCandidate(candidate) {
  if (!candidate) return;
  if (!peer?.remoteDescription) {
    remoteCandidates.push(candidate);
    return;
  }
  peer.addIceCandidate({ candidate, sdpMLineIndex: 0 }).catch(() => {});
}

async function applyRemoteCandidates(pc) {
  for (const candidate of remoteCandidates.splice(0)) {
    await pc.addIceCandidate({ candidate, sdpMLineIndex: 0 }).catch(() => {});
  }
}

/** The microphone, and the camera for a video call (without one, the call goes on without it). */
async function localMedia(video) {
  if (!navigator.mediaDevices?.getUserMedia || typeof RTCPeerConnection !== 'function') {
    throw new api.UserError(window.isSecureContext ? 'This browser cannot make calls.' : 'Calls need a secure (https) connection to the server.');
  }
  if (video) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true, video: VIDEO });
    } catch (error) {
      if (!['NotFoundError', 'NotReadableError', 'OverconstrainedError'].includes(error?.name)) throw mediaError(error, true);
    }
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    throw mediaError(error, false);
  }
}

function mediaError(error, video) {
  const what = video ? 'microphone and camera' : 'microphone';
  if (error?.name === 'NotAllowedError' || error?.name === 'SecurityError') {
    return new api.UserError(`Courier may not use your ${what}. Allow it in the browser’s site settings, then call again.`);
  }
  if (error?.name === 'NotFoundError') return new api.UserError('No microphone was found.');
  if (error?.name === 'NotReadableError') return new api.UserError(`Your ${what} is in use by another program.`);
  return new api.UserError(`Cannot use your ${what}.`);
}

function stopTracks(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

// ---------------------------------------------------------------------------------------------
// Signalling helpers

/** Sends a frame that the server acknowledges; resolves with the ack, rejects with its error. */
function request(frame) {
  const ref = `call-${++lastRef}`;
  return new Promise((resolve, reject) => {
    if (!sendFrame({ ...frame, ref })) {
      reject(new api.UserError('You are offline. Try again when the connection is back.'));
      return;
    }
    const timer = setTimeout(() => {
      acks.delete(ref);
      reject(new api.UserError('The server did not answer. Try again.'));
    }, ACK_TIMEOUT_MS);
    acks.set(ref, { resolve, reject, timer });
  });
}

/** Tells the sibling tabs that this one answered or declined call `callId` (`notice`: what they say). */
function tellTabs(callId, notice) {
  takenElsewhere.add(callId);
  tabs?.postMessage({ type: 'taken', callId, notice });
}

/** Whether a sibling tab (same browser, same session) holds call `id`. */
function heldBySibling(id) {
  if (!tabs) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onMessage = ({ data }) => {
      if (data?.type === 'mine' && data.callId === id) done(true);
    };
    const done = (held) => {
      clearTimeout(timer);
      tabs.removeEventListener('message', onMessage);
      resolve(held);
    };
    const timer = setTimeout(() => done(false), SIBLING_WAIT_MS);
    tabs.addEventListener('message', onMessage);
    tabs.postMessage({ type: 'who-has', callId: id });
  });
}

tabs?.addEventListener('message', ({ data }) => {
  const call = store.call;
  if (data?.type === 'taken') {
    // Answered or declined in a sibling tab: stop ringing here.
    takenElsewhere.add(data.callId);
    if (call?.id === data.callId && call.phase === 'incoming') finish(call, data.notice || 'Answered in another tab');
  } else if (data?.type === 'who-has' && call?.id === data.callId && !call.detached && isBusy()) {
    tabs.postMessage({ type: 'mine', callId: data.callId });
  }
});

// A tab closed (or reloaded) during a call hangs it up: its sound and picture go with it.
window.addEventListener('pagehide', () => {
  const call = store.call;
  if (call?.id && !call.detached && ['calling', 'ringing', 'accepting', 'active'].includes(call.phase)) {
    sendFrame({ type: 'call_hangup', call_id: call.id });
  }
});

// ---------------------------------------------------------------------------------------------
// The test hook

/**
 * The end-to-end test's one hook (Tests/Calls/calls_e2e.py): when `localStorage.courierTestHooks`
 * is '1', the current RTCPeerConnection is `window.__courierCall` (null when there is none), so
 * the test can read its getStats() and connectionState. Without the flag nothing is exposed.
 */
function exposeForTests(pc) {
  try {
    if (localStorage.getItem('courierTestHooks') === '1') window.__courierCall = pc;
  } catch {
    // Storage disabled: no hook.
  }
}

exposeForTests(null);

// The single WebSocket of this tab: connects, catches up without gaps, keeps itself alive, and
// reconnects with backoff after any drop.
//
// Every connection uses `?resume=1` and sends `resume` as its first frame, with this device's
// positions in the update log (its own `account_pts` and each chat's `pts`); the server answers
// with every update missed, in order, before any live frame, then `resumed`. The connection counts
// as online only from then on. sync.js asks again (`resume()`) while more wait or a gap shows.
import * as session from './session.js';

const PING_EVERY_MS = 25_000; // under the server's 30 s, and well inside proxies' idle timeouts
const PONG_TIMEOUT_MS = 10_000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const MAX_RESUME_CHATS = 500; // the server's limit per resume frame

/** Close codes after which reconnecting at once is right (server restart, slow-consumer drop,
 *  access token expired: a fresh one is fetched before the next connect; catch_up: the server may
 *  have missed updates and the resume brings them). */
const RECONNECT_NOW = new Set([1001, 1012, 4002, 4008, 4009]);
/** The server closed the socket because this session was signed out (on another device, say). */
const SESSION_REVOKED = 4001;

export class RealtimeConnection {
  /**
   * @param {object} hooks
   * @param {() => Record<string, number>} hooks.resumeState newest seq per chat id
   * @param {(frame: object) => void} hooks.onFrame every frame except resumed/pong
   * @param {(frame: object, isReconnect: boolean) => void} hooks.onResumed history caught up; online
   * @param {(state: string) => void} hooks.onStateChange 'connecting' | 'online' | 'reconnecting' | 'offline'
   * @param {() => Promise<void>} hooks.verifySession checks the session over REST after a refused connection
   * @param {() => void} hooks.onSessionEnded the session is over; sign in again
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.socket = null;
    this.state = 'connecting';
    this.stopped = true;
    this.attempts = 0;
    this.everOnline = false;
    this.lastAttemptRefused = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.onOnline = () => this.#connectSoon(0);
    this.onOffline = () => {
      this.#setState('offline');
      // The socket is likely dead; a fresh one is made when the network is back.
      if (this.socket) this.#abandon(this.socket, 4001, 'Network lost');
    };
    this.onVisible = () => {
      if (document.visibilityState === 'visible' && !this.socket && !this.stopped) this.#connectSoon(0);
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
    this.#connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    clearTimeout(this.retryTimer);
    this.#stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'Signed out');
  }

  /** Asks to catch up from the device's positions now (more updates wait, or a gap showed). */
  resume() {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(resumeFrame(this.hooks.resumeState())));
    return true;
  }

  /** Sends a frame when online (resumed); returns false otherwise, and the caller keeps it for later. */
  send(frame) {
    if (this.state !== 'online' || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.hooks.onStateChange(state);
  }

  #connectSoon(delay) {
    clearTimeout(this.retryTimer);
    if (this.stopped || this.socket) return;
    this.retryTimer = setTimeout(() => this.#connect(), delay);
  }

  async #connect() {
    if (this.stopped || this.socket) return;
    this.#setState(this.everOnline ? 'reconnecting' : 'connecting');
    if (navigator.onLine === false) {
      this.#setState('offline');
      return; // the 'online' event connects again
    }
    let token;
    try {
      if (this.lastAttemptRefused) {
        // The last upgrade was refused: a dead session, or the server is still starting. Ask
        // over REST, which refreshes the token or tells the session is over.
        await this.hooks.verifySession();
      }
      token = await session.freshAccessToken();
    } catch (error) {
      if (error instanceof session.SessionExpired) {
        this.hooks.onSessionEnded();
        return;
      }
      this.#scheduleRetry();
      return;
    }
    if (this.stopped || this.socket) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}&resume=1`);
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.lastAttemptRefused = false;
      socket.send(JSON.stringify(resumeFrame(this.hooks.resumeState())));
      this.#startHeartbeat(socket);
    });
    socket.addEventListener('message', (event) => this.#receive(socket, event.data));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.#stopHeartbeat();
      if (this.stopped) return;
      if (event.code === SESSION_REVOKED) {
        this.hooks.onSessionEnded();
        return;
      }
      this.lastAttemptRefused = !opened;
      if (opened && RECONNECT_NOW.has(event.code)) this.attempts = 0;
      this.#scheduleRetry();
    });
  }

  #receive(socket, data) {
    // Frames still arriving on a socket given up on are not this connection's.
    if (socket !== this.socket) return;
    // Any frame shows the connection is alive.
    clearTimeout(this.pongTimer);
    this.pongTimer = null;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // not ours to handle; the server only sends JSON
    }
    if (frame.type === 'pong') return;
    if (frame.type === 'resumed') {
      const isReconnect = this.everOnline;
      this.everOnline = true;
      this.attempts = 0;
      this.#setState('online');
      this.hooks.onResumed(frame, isReconnect);
      return;
    }
    this.hooks.onFrame(frame);
  }

  /**
   * Gives up on a socket at once and reconnects. Closing a dead connection can take long to
   * report 'close' (the closing handshake waits), so the connection does not wait for it.
   */
  #abandon(socket, code, reason) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.#stopHeartbeat();
    socket.close(code, reason);
    this.#scheduleRetry();
  }

  #scheduleRetry() {
    if (this.stopped) return;
    if (this.state !== 'offline') this.#setState(this.everOnline ? 'reconnecting' : 'connecting');
    const base = BACKOFF_MS[Math.min(this.attempts, BACKOFF_MS.length - 1)];
    this.attempts += 1;
    // Jitter spreads the reconnects of many clients after a server restart.
    this.#connectSoon(base * (0.8 + Math.random() * 0.4));
  }

  /** Pings now and then; a connection that stays silent after a ping is dead (a dropped network
   *  does not always close sockets), so it is closed, which reconnects. */
  #startHeartbeat(socket) {
    this.#stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN || this.pongTimer) return;
      socket.send(JSON.stringify({ type: 'ping' }));
      this.pongTimer = setTimeout(() => this.#abandon(socket, 4000, 'No answer to ping'), PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  #stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }
}

/** The `resume` frame for positions `{ account, chats, first }`: at most the server's limit of
 *  chats per frame: those in `first` (where a gap showed), then the busiest (highest pts); the
 *  others catch up when they next change (a live update shows the gap) or are opened. */
function resumeFrame({ account, chats, first = [] }) {
  const entries = Object.entries(chats);
  const ahead = new Set(first);
  const limited = entries.length <= MAX_RESUME_CHATS
    ? chats
    : Object.fromEntries(entries
      .sort((a, b) => (ahead.has(b[0]) - ahead.has(a[0])) || (b[1] - a[1]))
      .slice(0, MAX_RESUME_CHATS));
  const frame = { type: 'resume', chats: limited };
  if (account !== null && account !== undefined) frame.account_pts = account;
  return frame;
}

// The tab's one real-time connection, for the modules that send frames over it. sync.js creates
// and starts it; the others only send, and keep what could not be sent for the next `resumed`.

let connection = null;

export function setConnection(value) {
  connection = value;
}

/** Sends a frame when online (resumed); false otherwise. */
export function sendFrame(frame) {
  return connection?.send(frame) ?? false;
}

export function isOnline() {
  return connection?.state === 'online';
}

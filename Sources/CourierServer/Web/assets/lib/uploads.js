// Uploads of media, resumable: the file's SHA-256 first (the server checks it at the end), then
// `POST /uploads`, then the bytes in parts of 512 KiB (one PATCH each, so progress moves per part
// and a dropped connection loses at most one part), then `POST /uploads/{id}/complete`, which
// answers with the Media to attach to a message.
//
// After a network error an upload waits (with backoff, sooner when the browser says it is online
// again), asks the server how far it got (`GET /uploads/{id}`: the bytes it has durably) and goes
// on from there, so a flaky connection never sends the whole file again.
import * as api from './api.js';
import { sha256Hex } from './sha256.js';

/** Bytes per PATCH. */
export const PART_SIZE = 512 * 1024;
/** At most this many uploads send bytes at once; the others wait their turn. */
const MAX_PARALLEL = 2;
/** Waits between attempts after a network error (the last one repeats while it lasts). */
const RETRY_MS = [1000, 2000, 4000, 8000, 15000];

/** What kind of upload a file is: images (GIFs too) are photos, videos videos, the rest files.
 *  SVG is a document, not a picture to resize. Audio files are files: voice is only what is
 *  recorded here. */
export function kindOf(file) {
  const type = (file.type || '').toLowerCase();
  if (type.startsWith('image/') && type !== 'image/svg+xml') return 'photo';
  if (type.startsWith('video/')) return 'video';
  return 'file';
}

/** The MIME type without parameters ("audio/webm;codecs=opus" → "audio/webm"). */
function baseType(type) {
  return (type || 'application/octet-stream').split(';')[0].trim().toLowerCase() || 'application/octet-stream';
}

// A tiny semaphore: a slot is taken for the whole transfer of one upload.
let running = 0;
const waiting = [];

function acquire() {
  if (running < MAX_PARALLEL) {
    running += 1;
    return Promise.resolve();
  }
  return new Promise((resolve) => waiting.push(resolve));
}

function release() {
  const next = waiting.shift();
  if (next) next();
  else running -= 1;
}

/** The server forgot the upload (expired or cancelled elsewhere): begin again with a new one. */
class UploadGone extends Error {}

/** Nothing to send (the server takes files of one byte or more). */
class EmptyFile extends Error {}

/**
 * One file on its way to the server. `state`: 'queued' → 'hashing' → 'uploading' → 'processing'
 * → 'done' (then `media` is set), or 'failed' (`error`), or 'cancelled'. `sent` counts the bytes
 * the server has; `retrying` is true while a network error is waited out.
 */
export class Upload {
  #listeners = new Set();
  #controller = null;
  #run = null;
  #wake = null;

  /** `options`: `kind` ('photo' | 'video' | 'voice' | 'file'; from the type by default), `fileName`, `duration` (known for recordings). */
  constructor(file, { kind, fileName, duration } = {}) {
    this.key = api.randomId();
    this.file = file;
    this.kind = kind ?? kindOf(file);
    this.fileName = fileName || file.name || 'file';
    this.mimeType = baseType(file.type);
    this.size = file.size;
    this.duration = duration ?? null;
    this.state = 'queued';
    this.sent = 0;
    this.error = null;
    this.media = null;
    this.retrying = false;
    this.serverId = null;
    this.sha256 = null;
  }

  /** Calls `listener(upload)` on every change; returns the unsubscribe function. */
  on(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed() {
    for (const listener of this.#listeners) listener(this);
  }

  /** 0…1: bytes the server has, of the whole file. */
  get progress() {
    if (this.state === 'done' || this.state === 'processing') return 1;
    return this.size ? this.sent / this.size : 0;
  }

  get finished() {
    return this.state === 'done' || this.state === 'failed' || this.state === 'cancelled';
  }

  /**
   * Starts (or, after a failure, restarts) the upload; resolves with the Media once the server
   * has processed it. Calling it again while it runs returns the same promise.
   */
  start() {
    if (this.state === 'done') return Promise.resolve(this.media);
    if (this.state === 'cancelled') return Promise.reject(cancelledError());
    if (!this.#run) {
      this.error = null;
      this.#controller = new AbortController();
      this.#run = this.#work(this.#controller.signal).finally(() => {
        this.#run = null;
      });
    }
    return this.#run;
  }

  /** Stops the upload and tells the server to drop what it has (best effort). */
  cancel() {
    if (this.state === 'done' || this.state === 'cancelled') return;
    this.state = 'cancelled';
    this.#controller?.abort();
    this.#wake?.();
    if (this.serverId) api.del(`/uploads/${encodeURIComponent(this.serverId)}`).catch(() => {});
    this.#changed();
  }

  async #work(signal) {
    this.state = 'queued';
    this.#changed();
    await acquire();
    try {
      signal.throwIfAborted();
      if (this.size === 0) throw new EmptyFile();
      if (!this.sha256) {
        this.state = 'hashing';
        this.#changed();
        this.sha256 = await sha256Hex(this.file, { signal });
      }
      for (;;) {
        try {
          if (!this.serverId) await this.#create(signal);
          this.state = 'uploading';
          this.#changed();
          await this.#sendParts(signal);
          this.state = 'processing';
          this.#changed();
          this.media = await this.#complete(signal);
          this.state = 'done';
          this.#changed();
          return this.media;
        } catch (error) {
          if (error instanceof UploadGone) {
            this.serverId = null;
            this.sent = 0;
            continue;
          }
          if (error instanceof api.ApiError && error.code === 'media_unprocessable' && this.kind !== 'file') {
            // Not a picture or video the server can read (an exotic format): send it as a file.
            this.kind = 'file';
            this.serverId = null;
            this.sent = 0;
            continue;
          }
          throw error;
        }
      }
    } catch (error) {
      if (signal.aborted) {
        this.state = 'cancelled';
        this.#changed();
        throw cancelledError();
      }
      this.state = 'failed';
      this.error = describeUploadError(error);
      this.retrying = false;
      this.#changed();
      throw error;
    } finally {
      release();
    }
  }

  async #create(signal) {
    const upload = await this.#patiently(signal, () =>
      api.request('POST', '/uploads', {
        body: { size: this.size, mime_type: this.mimeType, file_name: this.fileName, sha256: this.sha256, kind: this.kind },
        signal,
      }),
    );
    this.serverId = upload.id;
    this.sent = upload.offset ?? 0;
    this.partSize = upload.chunk_size > 0 ? Math.min(upload.chunk_size, PART_SIZE) : PART_SIZE;
  }

  async #sendParts(signal) {
    while (this.sent < this.size) {
      const start = this.sent;
      // Parts end on multiples of the server's chunk size (it stores whole chunks as they come),
      // also after a resume from an offset inside a chunk.
      const part = this.partSize ?? PART_SIZE;
      const end = Math.min((Math.floor(start / part) + 1) * part, this.size);
      try {
        const response = await api.request('PATCH', `/uploads/${encodeURIComponent(this.serverId)}`, {
          data: this.file.slice(start, end),
          headers: { 'Upload-Offset': String(start), 'Content-Type': 'application/offset+octet-stream' },
          raw: true,
          signal,
        });
        const offset = Number(response.headers.get('Upload-Offset'));
        this.sent = Number.isFinite(offset) && offset > start ? Math.min(offset, this.size) : end;
        this.#settled();
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof api.ApiError && error.code === 'offset_mismatch') {
          // The server has more (a part whose answer was lost) or less than we thought: ask it.
          this.sent = await this.#serverOffset(signal);
        } else if (retryable(error)) {
          await this.#backoff(signal);
          this.sent = await this.#serverOffset(signal);
        } else {
          throw error;
        }
      }
      this.#changed();
    }
  }

  async #complete(signal) {
    for (;;) {
      try {
        return await this.#patiently(signal, () =>
          api.request('POST', `/uploads/${encodeURIComponent(this.serverId)}/complete`, { signal }),
        );
      } catch (error) {
        if (!(error instanceof api.ApiError && error.code === 'upload_incomplete')) throw error;
        // Bytes the server had not made durable: send what it lacks, then complete again.
        this.state = 'uploading';
        this.sent = await this.#serverOffset(signal);
        this.#changed();
        await this.#sendParts(signal);
        this.state = 'processing';
        this.#changed();
      }
    }
  }

  /** How many bytes the server has (waiting out network errors). */
  async #serverOffset(signal) {
    const upload = await this.#patiently(signal, async () => {
      try {
        return await api.get(`/uploads/${encodeURIComponent(this.serverId)}`, { signal });
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 404) throw new UploadGone();
        throw error;
      }
    });
    return Math.min(upload.offset ?? 0, this.size);
  }

  /** Runs `call` until it does not fail with a network error (or a server hiccup). */
  async #patiently(signal, call) {
    for (;;) {
      try {
        const answer = await call();
        this.#settled();
        return answer;
      } catch (error) {
        if (signal.aborted || !retryable(error)) throw error;
        await this.#backoff(signal);
      }
    }
  }

  #failures = 0;

  #settled() {
    this.#failures = 0;
    if (this.retrying) {
      this.retrying = false;
      this.#changed();
    }
  }

  /** Waits before the next attempt: longer each time, but at once when the network comes back. */
  async #backoff(signal) {
    this.retrying = true;
    this.#changed();
    const delay = RETRY_MS[Math.min(this.#failures, RETRY_MS.length - 1)] * (0.8 + Math.random() * 0.4);
    this.#failures += 1;
    await new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        window.removeEventListener('online', done);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, delay);
      window.addEventListener('online', done);
      this.#wake = done;
    });
    signal.throwIfAborted();
  }
}

/** Errors worth trying again: the network, the server restarting or overloaded. */
function retryable(error) {
  if (error instanceof api.NetworkError) return true;
  return error instanceof api.ApiError && (error.status >= 500 || error.status === 408 || error.status === 429);
}

function cancelledError() {
  return new DOMException('The upload was cancelled.', 'AbortError');
}

/** A sentence for the user about a failed upload. */
function describeUploadError(error) {
  if (error instanceof EmptyFile) return 'This file is empty.';
  if (error instanceof api.ApiError) {
    switch (error.code) {
      case 'file_too_large':
        return error.message || 'This file is too large to send.';
      case 'media_quota_exceeded':
        return 'Your storage for media is full. Delete some media and try again.';
      case 'hash_mismatch':
        return 'The file changed while it was being sent. Try again.';
      case 'media_unprocessable':
        return 'This file could not be read.';
      default:
        return error.message;
    }
  }
  return api.describe(error);
}

// SHA-256 of a file, which the server needs before the first byte of an upload. WebCrypto digests
// only a whole buffer in memory: fine up to a size, but a video of several GB would not fit. Above
// that size the file is read in slices and hashed here, incrementally (FIPS 180-4), so memory
// stays at one slice whatever the file's size.

/** Files up to this size are hashed by WebCrypto in one go (native and fast). */
const WHOLE_FILE_LIMIT = 256 * 1024 * 1024;
/** Bytes read at a time when hashing incrementally. */
const SLICE = 8 * 1024 * 1024;

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** An incremental SHA-256: `update(bytes)` any number of times, then `hex()` once. */
export class Sha256 {
  #h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  #w = new Uint32Array(64);
  #block = new Uint8Array(64);
  #used = 0; // bytes waiting in #block
  #length = 0; // bytes hashed in all

  update(bytes) {
    let at = 0;
    this.#length += bytes.length;
    if (this.#used) {
      const take = Math.min(64 - this.#used, bytes.length);
      this.#block.set(bytes.subarray(0, take), this.#used);
      this.#used += take;
      at = take;
      if (this.#used < 64) return this;
      this.#compress(this.#block, 0);
      this.#used = 0;
    }
    for (; at + 64 <= bytes.length; at += 64) this.#compress(bytes, at);
    if (at < bytes.length) {
      this.#block.set(bytes.subarray(at));
      this.#used = bytes.length - at;
    }
    return this;
  }

  /** The digest as 64 lowercase hex digits (the hash is finished: no updates after this). */
  hex() {
    const bits = this.#length * 8;
    const tail = new Uint8Array(((this.#used + 8) >> 6) * 64 + 64 - this.#used);
    tail[0] = 0x80;
    // The length in bits, big-endian in the last 8 bytes (split: JavaScript bit operations are 32-bit).
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.#length -= tail.length; // padding is not message
    this.update(tail);
    return Array.from(this.#h, (word) => word.toString(16).padStart(8, '0')).join('');
  }

  #compress(bytes, at) {
    const w = this.#w;
    for (let i = 0; i < 16; i++, at += 4) w[i] = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const h = this.#h;
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}

/**
 * The SHA-256 of a Blob as lowercase hex. `onProgress(bytesHashed)` follows a large file;
 * `signal` stops it (rejecting with an AbortError).
 */
export async function sha256Hex(blob, { onProgress, signal } = {}) {
  if (blob.size <= WHOLE_FILE_LIMIT && crypto.subtle) {
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    signal?.throwIfAborted();
    onProgress?.(blob.size);
    return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
  }
  const hash = new Sha256();
  for (let at = 0; at < blob.size; at += SLICE) {
    signal?.throwIfAborted();
    hash.update(new Uint8Array(await blob.slice(at, at + SLICE).arrayBuffer()));
    onProgress?.(Math.min(at + SLICE, blob.size));
  }
  return hash.hex();
}

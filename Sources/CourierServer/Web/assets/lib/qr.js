// A QR code encoder (ISO/IEC 18004), written for this app so that enrolling two-factor
// authentication needs no library and no third party ever sees the secret.
//
// Scope: byte mode (UTF-8), versions 1–10 (up to 271 bytes at level L, 213 at M: an otpauth URI
// fits easily), all four error-correction levels, automatic mask choice by the standard penalty
// rules. `drawQr` paints it on a canvas with the required quiet zone.

const LEVELS = { L: 0, M: 1, Q: 2, H: 3 };
/** Format-information bits of each level (note: not in L, M, Q, H order). */
const FORMAT_BITS = [1, 0, 3, 2];

/**
 * Error-correction blocks per version (1–10) and level (L, M, Q, H):
 * [EC codewords per block, blocks in group 1, data codewords each, blocks in group 2, data codewords each].
 */
const BLOCKS = [
  null,
  [[7, 1, 19, 0, 0], [10, 1, 16, 0, 0], [13, 1, 13, 0, 0], [17, 1, 9, 0, 0]],
  [[10, 1, 34, 0, 0], [16, 1, 28, 0, 0], [22, 1, 22, 0, 0], [28, 1, 16, 0, 0]],
  [[15, 1, 55, 0, 0], [26, 1, 44, 0, 0], [18, 2, 17, 0, 0], [22, 2, 13, 0, 0]],
  [[20, 1, 80, 0, 0], [18, 2, 32, 0, 0], [26, 2, 24, 0, 0], [16, 4, 9, 0, 0]],
  [[26, 1, 108, 0, 0], [24, 2, 43, 0, 0], [18, 2, 15, 2, 16], [22, 2, 11, 2, 12]],
  [[18, 2, 68, 0, 0], [16, 4, 27, 0, 0], [24, 4, 19, 0, 0], [28, 4, 15, 0, 0]],
  [[20, 2, 78, 0, 0], [18, 4, 31, 0, 0], [18, 2, 14, 4, 15], [26, 4, 13, 1, 14]],
  [[24, 2, 97, 0, 0], [22, 2, 38, 2, 39], [22, 4, 18, 2, 19], [26, 4, 14, 2, 15]],
  [[30, 2, 116, 0, 0], [22, 3, 36, 2, 37], [20, 4, 16, 4, 17], [24, 4, 12, 4, 13]],
  [[18, 2, 68, 2, 69], [26, 4, 43, 1, 44], [24, 6, 19, 2, 20], [28, 6, 15, 2, 16]],
];

/** Centres of the alignment patterns per version. */
const ALIGNMENT = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];

const MAX_VERSION = 10;

/**
 * Encodes `text` as a QR code: `{version, size, modules}` where `modules[y][x]` is true for dark.
 * Picks the smallest version that fits at `level` ('L', 'M', 'Q' or 'H'); throws if none does.
 */
export function encodeQr(text, level = 'M') {
  const ecl = LEVELS[level];
  if (ecl === undefined) throw new Error(`Unknown error-correction level ${level}`);
  const bytes = new TextEncoder().encode(text);
  for (let version = 1; version <= MAX_VERSION; version++) {
    const capacityBits = dataCodewords(version, ecl) * 8;
    const countBits = version <= 9 ? 8 : 16;
    if (4 + countBits + bytes.length * 8 <= capacityBits) {
      return build(version, ecl, dataBits(bytes, countBits, capacityBits));
    }
  }
  throw new Error('Too long for a QR code of version 10');
}

function dataCodewords(version, ecl) {
  const [, n1, d1, n2, d2] = BLOCKS[version][ecl];
  return n1 * d1 + n2 * d2;
}

/** Mode indicator, character count, data, terminator and padding, as codewords. */
function dataBits(bytes, countBits, capacityBits) {
  const bits = [];
  const put = (value, length) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4); // byte mode
  put(bytes.length, countBits);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, capacityBits - bits.length)); // terminator
  while (bits.length % 8) bits.push(0);
  for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) put(pad, 8);
  const codewords = [];
  for (let i = 0; i < bits.length; i += 8) codewords.push(bits.slice(i, i + 8).reduce((acc, bit) => (acc << 1) | bit, 0));
  return codewords;
}

/** Splits data into blocks, adds Reed–Solomon error correction, and interleaves. */
function withErrorCorrection(data, version, ecl) {
  const [ecLength, n1, d1, n2, d2] = BLOCKS[version][ecl];
  const divisor = rsDivisor(ecLength);
  const blocks = [];
  let offset = 0;
  for (const [count, length] of [[n1, d1], [n2, d2]]) {
    for (let i = 0; i < count; i++) {
      const block = data.slice(offset, offset + length);
      offset += length;
      blocks.push({ data: block, ec: rsRemainder(block, divisor) });
    }
  }
  const result = [];
  const longest = Math.max(...blocks.map((b) => b.data.length));
  for (let i = 0; i < longest; i++) for (const b of blocks) if (i < b.data.length) result.push(b.data[i]);
  for (let i = 0; i < ecLength; i++) for (const b of blocks) result.push(b.ec[i]);
  return result;
}

/** Multiplication in GF(2^8) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1. */
function gfMultiply(x, y) {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}

/** The generator polynomial of `degree` (coefficients, highest first, leading 1 omitted). */
function rsDivisor(degree) {
  const result = new Array(degree).fill(0);
  result[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < result.length; j++) {
      result[j] = gfMultiply(result[j], root);
      if (j + 1 < result.length) result[j] ^= result[j + 1];
    }
    root = gfMultiply(root, 0x02);
  }
  return result;
}

function rsRemainder(data, divisor) {
  const result = new Array(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ result.shift();
    result.push(0);
    divisor.forEach((coefficient, i) => {
      result[i] ^= gfMultiply(coefficient, factor);
    });
  }
  return result;
}

function build(version, ecl, data) {
  const size = version * 4 + 17;
  const modules = Array.from({ length: size }, () => new Array(size).fill(false));
  const isFunction = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, dark) => {
    modules[y][x] = dark;
    isFunction[y][x] = true;
  };

  // Timing patterns, then finders (over them), alignment patterns, reserved format and version areas.
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        if (x < 0 || y < 0 || x >= size || y >= size) continue;
        const distance = Math.max(Math.abs(dx), Math.abs(dy));
        set(x, y, distance !== 2 && distance !== 4);
      }
    }
  }
  const centres = ALIGNMENT[version];
  const last = centres.length - 1;
  centres.forEach((cx, i) => {
    centres.forEach((cy, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return; // finders
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    });
  });
  drawFormat(set, size, ecl, 0); // reserves the area; drawn for real once the mask is chosen
  if (version >= 7) drawVersion(set, size, version);

  // Data in the two-column zigzag, bottom-right first, skipping function modules.
  const codewords = withErrorCorrection(data, version, ecl);
  let bit = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5; // the vertical timing column
    const upward = ((right + 1) & 2) === 0;
    for (let step = 0; step < size; step++) {
      const y = upward ? size - 1 - step : step;
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        if (isFunction[y][x] || bit >= codewords.length * 8) continue;
        modules[y][x] = ((codewords[bit >>> 3] >>> (7 - (bit & 7))) & 1) === 1;
        bit++;
      }
    }
  }

  // The mask with the lowest penalty.
  let best = null;
  for (let mask = 0; mask < 8; mask++) {
    applyMask(modules, isFunction, mask);
    drawFormat(set, size, ecl, mask);
    const score = penalty(modules);
    if (!best || score < best.score) best = { mask, score };
    applyMask(modules, isFunction, mask); // undo (XOR)
  }
  applyMask(modules, isFunction, best.mask);
  drawFormat(set, size, ecl, best.mask);
  return { version, size, modules, mask: best.mask };
}

function drawFormat(set, size, ecl, mask) {
  const data = (FORMAT_BITS[ecl] << 3) | mask;
  let remainder = data;
  for (let i = 0; i < 10; i++) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
  const bits = ((data << 10) | remainder) ^ 0x5412;
  const bitAt = (i) => ((bits >>> i) & 1) === 1;
  // Around the top-left finder.
  for (let i = 0; i <= 5; i++) set(8, i, bitAt(i));
  set(8, 7, bitAt(6));
  set(8, 8, bitAt(7));
  set(7, 8, bitAt(8));
  for (let i = 9; i < 15; i++) set(14 - i, 8, bitAt(i));
  // The copy split between the other two finders, and the always-dark module.
  for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bitAt(i));
  for (let i = 8; i < 15; i++) set(8, size - 15 + i, bitAt(i));
  set(8, size - 8, true);
}

function drawVersion(set, size, version) {
  let remainder = version;
  for (let i = 0; i < 12; i++) remainder = (remainder << 1) ^ ((remainder >>> 11) * 0x1f25);
  const bits = (version << 12) | remainder;
  for (let i = 0; i < 18; i++) {
    const dark = ((bits >>> i) & 1) === 1;
    const a = size - 11 + (i % 3);
    const b = Math.floor(i / 3);
    set(a, b, dark);
    set(b, a, dark);
  }
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function applyMask(modules, isFunction, mask) {
  const size = modules.length;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!isFunction[y][x] && MASKS[mask](x, y)) modules[y][x] = !modules[y][x];
    }
  }
}

/** The standard's penalty score (rules N1–N4): lower is easier to scan. */
function penalty(modules) {
  const size = modules.length;
  let score = 0;
  const lines = [];
  for (let i = 0; i < size; i++) {
    lines.push(modules[i]);
    lines.push(modules.map((row) => row[i]));
  }
  for (const line of lines) {
    // N1: runs of five or more of one colour.
    let run = 1;
    for (let i = 1; i <= size; i++) {
      if (i < size && line[i] === line[i - 1]) {
        run++;
      } else {
        if (run >= 5) score += 3 + (run - 5);
        run = 1;
      }
    }
    // N3: finder-like 1:1:3:1:1 with four light modules on one side (light outside the symbol counts).
    const at = (i) => (i >= 0 && i < size ? line[i] : false);
    for (let i = -4; i < size; i++) {
      const core = at(i) && !at(i + 1) && at(i + 2) && at(i + 3) && at(i + 4) && !at(i + 5) && at(i + 6);
      if (!core) continue;
      const lightBefore = !at(i - 1) && !at(i - 2) && !at(i - 3) && !at(i - 4);
      const lightAfter = !at(i + 7) && !at(i + 8) && !at(i + 9) && !at(i + 10);
      if (lightBefore || lightAfter) score += 40;
    }
  }
  // N2: 2×2 blocks of one colour.
  for (let y = 0; y < size - 1; y++) {
    for (let x = 0; x < size - 1; x++) {
      const c = modules[y][x];
      if (c === modules[y][x + 1] && c === modules[y + 1][x] && c === modules[y + 1][x + 1]) score += 3;
    }
  }
  // N4: balance of dark and light.
  const dark = modules.reduce((sum, row) => sum + row.filter(Boolean).length, 0);
  const total = size * size;
  score += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
  return score;
}

/** Draws `text` as a QR code on `canvas` (with a four-module quiet zone), `scale` pixels per module. */
export function drawQr(canvas, text, { level = 'M', scale = 5 } = {}) {
  const qr = encodeQr(text, level);
  const quiet = 4;
  const pixels = (qr.size + quiet * 2) * scale;
  canvas.width = pixels;
  canvas.height = pixels;
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, pixels, pixels);
  context.fillStyle = '#000000';
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (qr.modules[y][x]) context.fillRect((x + quiet) * scale, (y + quiet) * scale, scale, scale);
    }
  }
  canvas.dataset.qrVersion = String(qr.version);
  return qr;
}

// How one upload looks while it is on its way (in the composer's tray and in the pending message):
// a thumbnail of a picture (drawn on a canvas: the page's Content-Security-Policy allows no blob:
// images) or an icon, the file's name, what is happening, and a progress bar.
import { h } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { fileSize } from '../lib/format.js';

/** Thumbnails are drawn this big (CSS pixels; twice that in canvas pixels, for sharp screens). */
const THUMB = 48;

/** A line saying where an upload is. */
export function uploadStatus(upload) {
  switch (upload.state) {
    case 'queued':
      return 'Waiting…';
    case 'hashing':
      return 'Preparing…';
    case 'uploading':
      if (upload.retrying) return 'Waiting for the network…';
      return `${fileSize(upload.sent)} of ${fileSize(upload.size)}`;
    case 'processing':
      return 'Processing…';
    case 'done':
      return fileSize(upload.size);
    case 'failed':
      return upload.error || 'Not sent.';
    case 'cancelled':
      return 'Cancelled';
    default:
      return '';
  }
}

/** The thumbnail, name, status and progress of `upload` (rebuilt by the caller on changes). */
export function uploadSummary(upload) {
  const percent = Math.round(upload.progress * 100);
  const progress = h('progress', {
    class: 'upload-progress',
    max: '100',
    value: String(percent),
    'aria-label': `${upload.fileName}: ${percent}%`,
  });
  // Before the first byte there is nothing to measure: an indeterminate bar says "busy".
  if (upload.state === 'hashing' || upload.state === 'processing') progress.removeAttribute('value');
  return h(
    'div',
    { class: ['upload-summary', `upload-${upload.state}`], dataset: { state: upload.state } },
    thumbnail(upload),
    h(
      'span',
      { class: 'upload-info' },
      h('span', { class: 'upload-name', text: upload.fileName, title: upload.fileName }),
      h('span', { class: 'upload-status', text: uploadStatus(upload) }),
      upload.state === 'done' || upload.state === 'failed' || upload.state === 'cancelled' ? null : progress,
    ),
  );
}

function thumbnail(upload) {
  if (upload.kind !== 'photo' || typeof createImageBitmap !== 'function') {
    const name = upload.kind === 'video' ? 'video' : upload.kind === 'voice' ? 'mic' : 'file';
    return h('span', { class: 'upload-thumb icon-thumb' }, icon(name));
  }
  const canvas = h('canvas', { class: 'upload-thumb', width: String(THUMB * 2), height: String(THUMB * 2), 'aria-hidden': 'true' });
  // Decoded once per upload, kept small (a large photo's full bitmap would hold megabytes), and
  // drawn again on every rebuild.
  upload.thumbnail ??= createImageBitmap(upload.file)
    .then((bitmap) => {
      const small = document.createElement('canvas');
      small.width = THUMB * 2;
      small.height = THUMB * 2;
      cover(small, bitmap);
      bitmap.close();
      return small;
    })
    .catch(() => null);
  upload.thumbnail.then((small) => {
    if (small) canvas.getContext('2d').drawImage(small, 0, 0);
  });
  return canvas;
}

/** Draws `image` over the whole canvas, cropped to fill it, as object-fit: cover would. */
function cover(canvas, image) {
  const scale = Math.max(canvas.width / image.width, canvas.height / image.height);
  const w = image.width * scale;
  const h0 = image.height * scale;
  canvas.getContext('2d').drawImage(image, (canvas.width - w) / 2, (canvas.height - h0) / 2, w, h0);
}

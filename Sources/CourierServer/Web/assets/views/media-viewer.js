// The photo viewer: a full-screen overlay on the native <dialog> (so Escape closes it and focus
// stays inside), showing the largest variant over the blurred preview, with the left and right
// arrow keys (and buttons) moving through the chat's photos, a download link and the caption.
import { h, replaceChildren } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { fullDate } from '../lib/format.js';
import { mediaLink, pickVariant } from '../lib/media-links.js';

/** Room kept around the photo for the bar above and the caption below (CSS pixels). */
const MARGIN = { width: 120, height: 150 };

/**
 * Opens the viewer on `items[index]`. `items`: [{media, message, author}] in chat order (the
 * photos of the whole loaded history, so the arrows cross from one album to the next message).
 */
export function openPhotoViewer(items, index) {
  if (!items.length) return;
  let at = Math.min(Math.max(index, 0), items.length - 1);

  const counter = h('span', { class: 'viewer-counter', id: 'viewer-counter' });
  const who = h('span', { class: 'viewer-author' });
  const when = h('span', { class: 'viewer-date' });
  const download = h('a', { class: 'icon-button viewer-download', id: 'viewer-download', 'aria-label': 'Download photo', title: 'Download' }, icon('download'));
  const close = h('button', { type: 'button', class: 'icon-button viewer-close', 'aria-label': 'Close', on: { click: () => dialog.close() } }, icon('close'));
  const prev = h('button', { type: 'button', class: 'viewer-nav prev', 'aria-label': 'Previous photo', on: { click: () => move(-1) } }, icon('left'));
  const next = h('button', { type: 'button', class: 'viewer-nav next', 'aria-label': 'Next photo', on: { click: () => move(1) } }, icon('right'));
  const figure = h('figure', { class: 'viewer-figure' });
  const caption = h('p', { class: 'viewer-caption' });
  const stage = h('div', { class: 'viewer-stage' }, prev, figure, next);
  const dialog = h(
    'dialog',
    { class: 'media-viewer', id: 'media-viewer', 'aria-label': 'Photo viewer' },
    h('header', { class: 'viewer-bar' }, h('span', { class: 'viewer-titles' }, who, when), counter, download, close),
    stage,
    caption,
  );

  function show() {
    const { media, message, author } = items[at];
    const variant = pickVariant(media, ['x1280', 'm800', 's320']);
    const { width, height } = fit(media.width, media.height);
    const image = h('img', { class: 'viewer-image', alt: media.file_name ? `Photo ${media.file_name}` : 'Photo', width, height, dataset: { mediaId: media.id } });
    const preview = media.preview ? h('img', { class: 'viewer-preview', src: media.preview, alt: '', 'aria-hidden': 'true', width, height }) : null;
    image.addEventListener('load', () => figure.classList.add('loaded'));
    figure.classList.remove('loaded');
    replaceChildren(figure, preview, image);
    mediaLink(media.id, variant).then((url) => {
      if (items[at].media === media) image.src = url;
    }, () => figure.classList.add('unavailable'));
    download.removeAttribute('href');
    download.setAttribute('download', media.file_name || 'photo.jpg');
    const best = pickVariant(media, ['original', 'x1280', 'm800']);
    mediaLink(media.id, best).then((url) => {
      if (items[at].media === media) download.href = url;
    }, () => {});
    counter.textContent = items.length > 1 ? `${at + 1} of ${items.length}` : '';
    who.textContent = author ?? '';
    when.textContent = fullDate(message.created_at);
    caption.textContent = message.content ?? '';
    caption.hidden = !message.content;
    prev.disabled = at === 0;
    next.disabled = at === items.length - 1;
    dialog.dataset.index = String(at);
  }

  function move(step) {
    const to = at + step;
    if (to < 0 || to >= items.length) return;
    at = to;
    show();
  }

  dialog.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowLeft') {
      event.preventDefault();
      move(-1);
    } else if (event.key === 'ArrowRight') {
      event.preventDefault();
      move(1);
    }
  });
  // A click beside the photo closes, as in Telegram.
  stage.addEventListener('click', (event) => {
    if (event.target === stage || event.target === figure) dialog.close();
  });
  const onResize = () => show();
  window.addEventListener('resize', onResize);
  dialog.addEventListener('close', () => {
    window.removeEventListener('resize', onResize);
    dialog.remove();
  });

  document.body.append(dialog);
  show();
  dialog.showModal();
  close.focus();
}

/** The photo's size on screen: as large as fits the window, never larger than it is. */
function fit(width, height) {
  const w = Number(width) || 800;
  const h0 = Number(height) || 600;
  const scale = Math.min((window.innerWidth - MARGIN.width) / w, (window.innerHeight - MARGIN.height) / h0, 1);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h0 * scale)) };
}

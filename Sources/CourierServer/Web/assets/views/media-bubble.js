// The media of a message bubble: photos and videos as one picture or a grid (an album), then
// voice notes and files, in attachment order within each group.
//
// A photo draws its tiny blurred `preview` (a data: URL that came with the message) at once, at
// the photo's own proportions, so nothing jumps when the real image (m800, through a signed link)
// fades in over it. Links are only asked for when a bubble comes near the screen.
import { h, whenNear } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { duration, fileSize } from '../lib/format.js';
import { cachedLink, mediaLink, pickVariant } from '../lib/media-links.js';
import { voiceNote } from './voice-note.js';

/** A lone photo or video is fitted into this box (CSS pixels), keeping its proportions. */
const SINGLE_BOX = { width: 400, height: 420 };
/** …but never thinner than this on its short side (a panorama stays tappable). */
const MIN_SIDE = 120;

const isVisual = (media) => media.kind === 'photo' || media.kind === 'video';

/**
 * The media part of a bubble. `openPhoto(media)` opens the viewer on a photo. Returns null for a
 * message without media.
 */
export function mediaBlock(message, { openPhoto }) {
  const media = message.media ?? [];
  if (!media.length) return null;
  const visual = media.filter(isVisual);
  const others = media.filter((m) => !isVisual(m));
  return h(
    'div',
    { class: 'message-media', dataset: { count: media.length } },
    visual.length === 1 ? single(visual[0], openPhoto) : visual.length ? album(visual, openPhoto) : null,
    others.map((m) => (m.kind === 'voice' ? voiceNote(m) : fileRow(m))),
  );
}

/** Whether a message shows a picture (then, without a caption, its time sits on the picture). */
export function hasVisualMedia(message) {
  return (message.media ?? []).some(isVisual);
}

// ---------------------------------------------------------------------------------------------
// Photos and videos

function single(media, openPhoto) {
  const { width, height } = fit(media.width, media.height);
  const tile = media.kind === 'photo' ? photoTile(media, 'm800', width, height, openPhoto) : videoTile(media, width, height);
  return h('div', { class: 'media-single' }, tile);
}

function album(items, openPhoto) {
  // Small cells need no 800-pixel image; a pair shares the width of one.
  const variant = items.length <= 2 ? 'm800' : 's320';
  return h(
    'div',
    { class: ['media-album', `album-${Math.min(items.length, 10)}`] },
    items.map((media) => h('div', { class: 'album-cell' }, media.kind === 'photo'
      ? photoTile(media, variant, media.width, media.height, openPhoto)
      : videoTile(media, media.width, media.height))),
  );
}

/** Fits `width`×`height` into the single-media box (unknown proportions make a square). */
function fit(width, height) {
  const w = Number(width) || 0;
  const h0 = Number(height) || 0;
  if (!w || !h0) return { width: 320, height: 320 };
  const scale = Math.min(SINGLE_BOX.width / w, SINGLE_BOX.height / h0, 1);
  let fw = w * scale;
  let fh = h0 * scale;
  if (Math.min(fw, fh) < MIN_SIDE) {
    const up = MIN_SIDE / Math.min(fw, fh);
    fw = Math.min(fw * up, SINGLE_BOX.width);
    fh = Math.min(fh * up, SINGLE_BOX.height);
  }
  return { width: Math.round(fw), height: Math.round(fh) };
}

function photoTile(media, wanted, width, height, openPhoto) {
  const variant = pickVariant(media, wanted === 's320' ? ['s320', 'm800', 'x1280'] : ['m800', 'x1280']);
  const size = { width: width || 320, height: height || 320 };
  const preview = media.preview ? h('img', { class: 'media-preview', src: media.preview, alt: '', 'aria-hidden': 'true', ...size }) : null;
  const image = h('img', { class: 'media-image', alt: media.file_name ? `Photo ${media.file_name}` : 'Photo', decoding: 'async', ...size, dataset: { variant: variant ?? '' } });
  const tile = h(
    'button',
    {
      type: 'button',
      class: ['media-tile', 'photo', preview ? 'has-preview' : ''],
      'aria-label': 'Open photo',
      dataset: { mediaId: media.id, kind: 'photo' },
      on: { click: () => openPhoto(media) },
    },
    preview,
    image,
  );
  loadImage(tile, image, media.id, variant);
  return tile;
}

/** Sets the image's signed link when the tile comes near the screen; one retry with a fresh link. */
function loadImage(tile, image, mediaId, variant) {
  let retried = false;
  image.addEventListener('load', () => tile.classList.add('loaded'));
  image.addEventListener('error', () => {
    if (!image.getAttribute('src')) return;
    if (retried) {
      tile.classList.add('unavailable');
      return;
    }
    retried = true; // the link may have expired since it was cached
    mediaLink(mediaId, variant, { fresh: true }).then((url) => {
      image.src = url;
    }, () => tile.classList.add('unavailable'));
  });
  whenNear(tile, () => {
    mediaLink(mediaId, variant).then((url) => {
      image.src = url;
    }, () => tile.classList.add('unavailable'));
  });
}

function videoTile(media, width, height) {
  const size = { width: width || 320, height: height || 240 };
  const video = h('video', { class: 'media-video', controls: true, preload: 'metadata', playsinline: true, ...size, dataset: { mediaId: media.id, kind: 'video' } });
  if (media.preview) video.poster = media.preview;
  const hasPoster = (media.variants ?? []).some((v) => v.name === 'poster');
  const variant = playableVariant(video, media);
  whenNear(video, () => {
    if (hasPoster) mediaLink(media.id, 'poster').then((url) => { video.poster = url; }, () => {});
    mediaLink(media.id, variant).then((url) => { video.src = url; }, () => video.classList.add('unavailable'));
  });
  // A link that expired while the video was watched: continue with a fresh one where it stopped.
  let renewing = false;
  video.addEventListener('error', () => {
    if (renewing || !video.getAttribute('src')) return;
    renewing = true;
    const at = video.currentTime;
    const wasPlaying = !video.paused;
    mediaLink(media.id, variant, { fresh: true }).then((url) => {
      video.src = url;
      video.currentTime = at;
      if (wasPlaying) video.play().catch(() => {});
      setTimeout(() => { renewing = false; }, 5000);
    }, () => video.classList.add('unavailable'));
  });
  return h('div', { class: 'media-tile video' }, video, media.duration ? h('span', { class: 'media-duration', text: duration(media.duration) }) : null);
}

/** The original if this browser plays its format, else the server's web version (720p). */
function playableVariant(video, media) {
  const original = (media.variants ?? []).find((v) => v.name === 'original');
  const web = (media.variants ?? []).find((v) => v.name === '720p');
  const type = original?.mime_type ?? media.mime_type;
  if (web && !(type && video.canPlayType(type))) return '720p';
  return original ? 'original' : undefined;
}

// ---------------------------------------------------------------------------------------------
// Files

function fileRow(media) {
  const name = media.file_name || 'File';
  const variant = (media.variants ?? []).some((v) => v.name === 'original') ? 'original' : undefined;
  const download = h(
    'a',
    { class: 'file-download', download: name, 'aria-label': `Download ${name}`, title: 'Download', dataset: { mediaId: media.id } },
    icon('download'),
  );
  // A link for the click: the one in hand while it is fresh, else a new one, then the click again.
  download.addEventListener('click', (event) => {
    const url = cachedLink(media.id, variant);
    if (url) {
      download.href = url;
      return;
    }
    event.preventDefault();
    mediaLink(media.id, variant).then((fresh) => {
      download.href = fresh;
      download.click();
    }, () => {});
  });
  whenNear(download, () => {
    mediaLink(media.id, variant).then((url) => { download.href = url; }, () => {});
  });
  return h(
    'div',
    { class: 'media-file', dataset: { mediaId: media.id, kind: 'file' } },
    download,
    h('span', { class: 'file-info' }, h('span', { class: 'file-name', text: name, title: name }), h('span', { class: 'file-size', text: fileSize(media.size) })),
  );
}

// Signed links to media bytes. <img>, <video>, <audio> and download links cannot send the Bearer
// token, so the server signs a short-lived URL per (media, variant) that works without it (and
// supports Range, so videos seek). Links are kept until shortly before they expire: a chat full
// of photos asks once per photo, and a re-rendered bubble reuses the same URL (the browser's cache
// then serves the image again without a request).
import * as api from './api.js';

/** A link this close to its expiry is not handed out any more (a video may need it for a while). */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;
/** Assumed lifetime when the server's answer has no usable `expires_at`. */
const DEFAULT_LIFETIME_MS = 30 * 60 * 1000;

/** `${mediaId}:${variant}` → {url, expiresAt} */
const links = new Map();
/** The same key → the request in flight (several bubbles may ask for the same link at once). */
const inFlight = new Map();

/**
 * The signed URL of `variant` of a media (`variant` omitted: the server's default). `fresh` skips
 * a cached link (one that the browser just failed to load, say).
 */
export function mediaLink(mediaId, variant, { fresh = false } = {}) {
  const key = `${mediaId}:${variant ?? ''}`;
  const cached = links.get(key);
  if (!fresh && cached && cached.expiresAt - Date.now() > EXPIRY_MARGIN_MS) return Promise.resolve(cached.url);
  if (!inFlight.has(key)) {
    const request = api
      .get(`/media/${encodeURIComponent(mediaId)}/link${api.query({ variant })}`)
      .then((answer) => {
        const expiresAt = Date.parse(answer.expires_at ?? '') || Date.now() + DEFAULT_LIFETIME_MS;
        links.set(key, { url: answer.url, expiresAt });
        return answer.url;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, request);
  }
  return inFlight.get(key);
}

/** The cached link of `variant` if it is fresh enough to use right now, else null (no request). */
export function cachedLink(mediaId, variant) {
  const cached = links.get(`${mediaId}:${variant ?? ''}`);
  return cached && cached.expiresAt - Date.now() > EXPIRY_MARGIN_MS ? cached.url : null;
}

/** Forgets every link (sign-out: they carry the user's identity). */
export function forgetLinks() {
  links.clear();
}

/**
 * The first of `preferred` that the media has as a variant; else its largest variant of the same
 * kind of content; else undefined (the server's default). Small originals lack the big variants.
 */
export function pickVariant(media, preferred) {
  const variants = media?.variants ?? [];
  const names = new Set(variants.map((v) => v.name));
  for (const name of preferred) if (names.has(name)) return name;
  const sized = variants.filter((v) => v.width && !/thumb|poster|preview/.test(v.name));
  if (sized.length) return sized.reduce((a, b) => (b.width * (b.height ?? 1) > a.width * (a.height ?? 1) ? b : a)).name;
  return undefined;
}

/** The variant entry named `name`, if the media has it. */
export function variantOf(media, name) {
  return (media?.variants ?? []).find((v) => v.name === name) ?? null;
}

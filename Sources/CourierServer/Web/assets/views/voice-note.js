// A voice note in a bubble: a play button, the waveform the server measured (bars, those already
// played in the accent colour) and the duration (the time played, while it plays). Clicking the
// waveform seeks. One voice note plays at a time, as in Telegram. The audio's signed link is only
// asked for on the first play: most voice notes in a history are never played again.
import { h } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { duration as formatDuration } from '../lib/format.js';
import { mediaLink } from '../lib/media-links.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Bars drawn (the server sends about 100 levels; a bubble has room for fewer). */
const BARS = 48;
/** Levels are 0…31. */
const MAX_LEVEL = 31;
const BAR_PITCH = 4;
const BAR_WIDTH = 2.6;
const HEIGHT = 32;

/** The audio playing now, if any (starting another pauses it). */
let current = null;

/** Stops whatever voice note plays (leaving the conversation). */
export function stopVoiceNotes() {
  current?.pause();
  current = null;
}

export function voiceNote(media) {
  const levels = resample(media.waveform, BARS);
  const waveform = waveformSvg(levels);
  const bars = [...waveform.children];
  const variant = (media.variants ?? []).some((v) => v.name === 'original') ? 'original' : undefined;
  const playIcon = icon('play');
  const pauseIcon = icon('pause');
  const button = h('button', { type: 'button', class: 'voice-play', 'aria-label': 'Play voice message' }, playIcon);
  // The duration the server measured (unknown for some recordings: then the time played only).
  let known = Number(media.duration) > 0 ? formatDuration(media.duration) : '';
  const time = h('span', { class: 'voice-time', text: known });
  const root = h(
    'div',
    { class: 'media-voice', dataset: { mediaId: media.id, kind: 'voice', state: 'idle', duration: media.duration ?? '' } },
    button,
    h('div', { class: 'voice-body' }, waveform, time),
  );

  let audio = null;
  let frame = 0;
  let renewed = false;

  const total = () => (audio && Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : Number(media.duration) || 0);

  function paint() {
    const fraction = audio && total() ? Math.min(audio.currentTime / total(), 1) : 0;
    const played = Math.round(fraction * bars.length);
    bars.forEach((bar, i) => bar.classList.toggle('played', i < played));
    const started = audio && (root.dataset.state === 'playing' || audio.currentTime > 0);
    time.textContent = started ? formatDuration(audio.currentTime) : known;
  }

  function loop() {
    paint();
    frame = audio && !audio.paused ? requestAnimationFrame(loop) : 0;
  }

  function setState(state) {
    root.dataset.state = state;
    const playingNow = state === 'playing';
    button.replaceChildren(playingNow ? pauseIcon : playIcon);
    button.setAttribute('aria-label', playingNow ? 'Pause voice message' : 'Play voice message');
  }

  async function ensureAudio() {
    if (!audio) {
      audio = new Audio();
      audio.preload = 'auto';
      audio.addEventListener('play', () => {
        setState('playing');
        cancelAnimationFrame(frame);
        loop();
      });
      audio.addEventListener('pause', () => {
        if (!audio.ended) setState('paused');
        paint();
      });
      audio.addEventListener('durationchange', () => {
        // Learnt from the audio itself when the server could not tell (a browser's WebM
        // recording has no duration in its header: it shows once played).
        if (!known && Number.isFinite(audio.duration) && audio.duration > 0) known = formatDuration(audio.duration);
      });
      audio.addEventListener('ended', () => {
        setState('idle');
        audio.currentTime = 0;
        paint();
      });
      audio.addEventListener('error', () => {
        // An expired link (the note was played long after it was opened): once more with a new one.
        if (renewed) {
          setState('idle');
          root.classList.add('unavailable');
          return;
        }
        renewed = true;
        mediaLink(media.id, variant, { fresh: true }).then((url) => {
          audio.src = url;
          audio.play().catch(() => {});
        }, () => root.classList.add('unavailable'));
      });
    }
    if (!audio.getAttribute('src')) {
      root.dataset.state = 'loading';
      audio.src = await mediaLink(media.id, variant);
    }
  }

  async function play(fromFraction = null) {
    try {
      await ensureAudio();
      if (fromFraction !== null && total()) audio.currentTime = fromFraction * total();
      if (current && current !== audio) current.pause();
      current = audio;
      await audio.play();
    } catch {
      if (root.dataset.state === 'loading') setState('idle');
    }
  }

  button.addEventListener('click', (event) => {
    event.stopPropagation();
    if (audio && !audio.paused) audio.pause();
    else play();
  });
  waveform.addEventListener('click', (event) => {
    event.stopPropagation();
    const rect = waveform.getBoundingClientRect();
    const fraction = Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1);
    if (audio && !audio.paused && total()) {
      audio.currentTime = fraction * total();
      paint();
    } else {
      play(fraction);
    }
  });
  return root;
}

/** `levels` (0…31, any count) as `count` bars: the loudest level of each stretch. */
export function resample(levels, count) {
  const input = Array.isArray(levels) ? levels.map((v) => Math.min(Math.max(Number(v) || 0, 0), MAX_LEVEL)) : [];
  if (!input.length) return new Array(count).fill(0);
  if (input.length <= count) return input;
  const bars = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * input.length) / count);
    const to = Math.max(from + 1, Math.floor(((i + 1) * input.length) / count));
    bars.push(Math.max(...input.slice(from, to)));
  }
  return bars;
}

function waveformSvg(levels) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'voice-waveform');
  svg.setAttribute('viewBox', `0 0 ${levels.length * BAR_PITCH} ${HEIGHT}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  levels.forEach((level, i) => {
    const height = Math.max(BAR_WIDTH, (level / MAX_LEVEL) * HEIGHT);
    const bar = document.createElementNS(SVG_NS, 'rect');
    bar.setAttribute('x', String(i * BAR_PITCH));
    bar.setAttribute('y', String(HEIGHT - height));
    bar.setAttribute('width', String(BAR_WIDTH));
    bar.setAttribute('height', String(height));
    bar.setAttribute('rx', String(BAR_WIDTH / 2));
    svg.append(bar);
  });
  return svg;
}

// Voice notes: the microphone through getUserMedia, recorded by MediaRecorder as Opus (in Ogg
// where the browser can, else in WebM; the server reads both). The microphone is released as soon
// as a recording ends, so the browser's "recording" indicator never stays on.

/** Containers to record in, best first. */
const TYPES = ['audio/ogg;codecs=opus', 'audio/webm;codecs=opus', 'audio/webm'];
/** Enough for speech, and small: a minute is about 250 KB. */
const BITS_PER_SECOND = 32000;
/** Recordings shorter than this are slips of the finger, not messages. */
export const MIN_SECONDS = 0.5;

/** Whether this browser can record here (it needs a secure context: HTTPS or localhost). */
export function canRecord() {
  return Boolean(window.isSecureContext && navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
}

/** The microphone could not be used; `message` says why, for the user. */
export class MicrophoneError extends Error {}

/**
 * Starts recording. Resolves with {stop(), cancel(), elapsed()} once the microphone is on:
 * `stop()` resolves with {blob, duration, extension}; `cancel()` throws the recording away.
 * Rejects with MicrophoneError when there is no microphone or permission is refused.
 */
export async function startRecording() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch (error) {
    const refused = error?.name === 'NotAllowedError' || error?.name === 'SecurityError';
    throw new MicrophoneError(refused
      ? 'Courier may not use the microphone. Allow it in the browser’s site settings to record voice messages.'
      : 'No microphone could be found.');
  }
  const mimeType = TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  let recorder;
  try {
    recorder = new MediaRecorder(stream, mimeType ? { mimeType, audioBitsPerSecond: BITS_PER_SECOND } : {});
  } catch {
    release(stream);
    throw new MicrophoneError('This browser cannot record audio.');
  }
  const chunks = [];
  recorder.addEventListener('dataavailable', (event) => {
    if (event.data.size) chunks.push(event.data);
  });
  const stopped = new Promise((resolve) => recorder.addEventListener('stop', resolve, { once: true }));
  const startedAt = performance.now();
  // Data every second, so a recording cut short by an error still has what came before.
  recorder.start(1000);

  const finish = async () => {
    if (recorder.state !== 'inactive') recorder.stop();
    await stopped;
    release(stream);
  };
  return {
    elapsed: () => (performance.now() - startedAt) / 1000,
    async stop() {
      const duration = (performance.now() - startedAt) / 1000;
      await finish();
      const type = recorder.mimeType || mimeType || 'audio/webm';
      return { blob: new Blob(chunks, { type }), duration, extension: type.includes('ogg') ? 'ogg' : 'webm' };
    },
    async cancel() {
      await finish();
      chunks.length = 0;
    },
  };
}

function release(stream) {
  for (const track of stream.getTracks()) track.stop();
}

// Playback-quality telemetry: a random session id per playback, events timed on a monotonic clock
// from the player's start, sent in small batches every 10 s (with a heartbeat) and when the page
// is hidden or left. Anonymous viewers send with navigator.sendBeacon; signed-in viewers with a
// keepalive fetch, which survives the page closing like a beacon but can carry the bearer token
// that ties sessions to an account (for experiment guardrails).
import { session } from './session.js';

export type QoeTarget = { video_id: string } | { stream_id: string };
type Ev = Record<string, unknown> & { type: string };

const HEARTBEAT_MS = 10_000;
const MAX_BUFFER = 40;
const URL_PATH = '/api/v1/playback/events';

export interface QoeReporter {
  event(e: Ev): void;
  /** Adds a heartbeat (position, rendition, paused) and sends what is buffered. */
  heartbeat(): void;
  end(): void;
}

export function qoeReporter(target: QoeTarget, state: () => { position: number; height: number | null; paused: boolean }): QoeReporter {
  const sessionId = crypto.randomUUID();
  const t0 = performance.now();
  let buffer: Array<Ev & { at_ms: number }> = [];
  let ended = false;

  const send = () => {
    if (!buffer.length) return;
    const body = JSON.stringify({ session_id: sessionId, ...target, events: buffer });
    buffer = [];
    if (session.token) {
      void fetch(URL_PATH, { method: 'POST', keepalive: true, headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` }, body }).catch(() => {});
    } else if (!navigator.sendBeacon?.(URL_PATH, new Blob([body], { type: 'application/json' }))) {
      void fetch(URL_PATH, { method: 'POST', keepalive: true, headers: { 'content-type': 'application/json' }, body }).catch(() => {});
    }
  };
  const event = (e: Ev) => {
    if (ended) return;
    buffer.push({ ...e, at_ms: Math.round(performance.now() - t0) });
    if (buffer.length >= MAX_BUFFER) send();
  };
  const heartbeat = () => {
    const s = state();
    event({ type: 'heartbeat', position: Math.max(0, Math.round(s.position * 10) / 10), ...(s.height ? { height: s.height } : {}), paused: s.paused });
    send();
  };
  const timer = setInterval(heartbeat, HEARTBEAT_MS);
  const onHide = () => {
    if (document.visibilityState === 'hidden') send();
  };
  const onPageHide = () => end();
  document.addEventListener('visibilitychange', onHide);
  window.addEventListener('pagehide', onPageHide);
  function end(): void {
    if (ended) return;
    event({ type: 'end' });
    ended = true;
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onHide);
    window.removeEventListener('pagehide', onPageHide);
    send();
  }
  return { event, heartbeat, end };
}

// A playback session as a small state machine over its events (idle → playing ⇄ rebuffering,
// paused, ended): each stretch between two events is attributed to the state it was in, so
// viewing time, rebuffering time and time per rendition are added up as batches arrive, and the
// startup histogram's log-spaced bins give p50/p95 from counts alone.

export type SessionStateName = 'idle' | 'playing' | 'rebuffering' | 'paused' | 'ended';

export type PlaybackEvent =
  | { type: 'startup'; at_ms: number; ms: number }
  | { type: 'rebuffer_start'; at_ms: number }
  | { type: 'rebuffer_end'; at_ms: number }
  | { type: 'level_switch'; at_ms: number; height: number; bitrate: number }
  | { type: 'error'; at_ms: number; fatal: boolean; kind: string }
  | { type: 'heartbeat'; at_ms: number; position: number; height?: number; paused?: boolean }
  | { type: 'end'; at_ms: number };

export interface SessionState {
  state: SessionStateName;
  lastAtMs: number;
  height: number | null;
  /** bits per second of the current rendition, when known. */
  bitrate: number | null;
  startupMs: number | null;
  fatal: boolean;
}

/** What one batch adds to the session's and the aggregates' totals. */
export interface Delta {
  playMs: number;
  rebufferMs: number;
  rebufferCount: number;
  levelSwitches: number;
  errors: number;
  /** The session's startup time, when this batch brought the first one. */
  startupMs: number | null;
  /** This batch brought the session's first fatal error. */
  newFatal: boolean;
  /** Σ kbps × ms over viewing time whose bitrate is known, and that time. */
  bitrateMs: number;
  bitrateKnownMs: number;
  renditionMs: Map<number, number>;
}

/**
 * Longest stretch between two events that counts. A player reports at least every 10 s while it
 * lives; a longer silence is a closed tab or a lost connection, not viewing or stalling.
 */
export const MAX_GAP_MS = 30_000;

export function initialState(): SessionState {
  return { state: 'idle', lastAtMs: 0, height: null, bitrate: null, startupMs: null, fatal: false };
}

export function emptyDelta(): Delta {
  return { playMs: 0, rebufferMs: 0, rebufferCount: 0, levelSwitches: 0, errors: 0, startupMs: null, newFatal: false, bitrateMs: 0, bitrateKnownMs: 0, renditionMs: new Map() };
}

/** Applies events (sorted by at_ms) to a session's state; returns the new state and the delta. */
export function applyEvents(start: SessionState, events: readonly PlaybackEvent[]): { state: SessionState; delta: Delta } {
  const s = { ...start };
  const d = emptyDelta();
  for (const ev of events) {
    // Events older than the session's last one (a reordered batch) count, but add no time.
    const dt = Math.min(MAX_GAP_MS, Math.max(0, ev.at_ms - s.lastAtMs));
    if (dt > 0 && s.state === 'playing') {
      d.playMs += dt;
      if (s.height !== null) d.renditionMs.set(s.height, (d.renditionMs.get(s.height) ?? 0) + dt);
      if (s.bitrate !== null) {
        d.bitrateMs += (s.bitrate / 1000) * dt;
        d.bitrateKnownMs += dt;
      }
    } else if (dt > 0 && s.state === 'rebuffering') {
      d.rebufferMs += dt;
    }
    s.lastAtMs = Math.max(s.lastAtMs, ev.at_ms);
    switch (ev.type) {
      case 'startup':
        if (s.startupMs === null) {
          s.startupMs = ev.ms;
          d.startupMs = ev.ms;
        }
        if (s.state === 'idle') s.state = 'playing';
        break;
      case 'rebuffer_start':
        // Waiting before the first frame is startup time, not a rebuffer.
        if (s.state === 'playing') {
          s.state = 'rebuffering';
          d.rebufferCount += 1;
        }
        break;
      case 'rebuffer_end':
        if (s.state === 'rebuffering') s.state = 'playing';
        break;
      case 'level_switch':
        if (s.height !== null && s.height !== ev.height) d.levelSwitches += 1;
        s.height = ev.height;
        s.bitrate = ev.bitrate > 0 ? ev.bitrate : null;
        break;
      case 'error':
        d.errors += 1;
        if (ev.fatal && !s.fatal) {
          s.fatal = true;
          d.newFatal = true;
        }
        break;
      case 'heartbeat':
        if (ev.height !== undefined && ev.height !== s.height) {
          s.height = ev.height;
          s.bitrate = null;
        }
        if (ev.paused === true && (s.state === 'playing' || s.state === 'rebuffering')) s.state = 'paused';
        else if (ev.paused === false && s.state === 'paused') s.state = 'playing';
        break;
      case 'end':
        s.state = 'ended';
        break;
    }
  }
  return { state: s, delta: d };
}

/** Startup histogram: bin 0 holds < 1 ms, bin b ≥ 1 holds [2^((b−1)/8), 2^(b/8)) ms (≈ 9 % wide). */
export const BINS_PER_OCTAVE = 8;

export function startupBin(ms: number): number {
  if (ms < 1) return 0;
  return Math.floor(Math.log2(ms) * BINS_PER_OCTAVE) + 1;
}

/**
 * The q-quantile from bin counts: the sample at 0-based rank q·(N − 1), placed within its bin as if
 * the bin's samples were spread evenly on the log scale (a lone sample sits at the bin's centre).
 * Off by at most about half a bin (≈ ±4.4 %) from the exact sample quantile.
 */
export function histogramQuantile(bins: Map<number, number>, q: number): number | null {
  const sorted = [...bins.entries()].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * (total - 1);
  let seen = 0;
  for (const [bin, n] of sorted) {
    if (seen + n > rank) {
      if (bin === 0) return 0;
      const lo = 2 ** ((bin - 1) / BINS_PER_OCTAVE);
      const frac = Math.min(1, Math.max(0, (rank - seen + 0.5) / n));
      return lo * 2 ** (frac / BINS_PER_OCTAVE);
    }
    seen += n;
  }
  return 2 ** (sorted[sorted.length - 1]![0] / BINS_PER_OCTAVE);
}

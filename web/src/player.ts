// The video player: hls.js (loaded on demand, in its own chunk) or the browser's own HLS, with
// our controls so the seek bar can show storyboard thumbnails and a quality menu can list the
// renditions. Every control is a native button/range/select, so it works from the keyboard.
import type Hls from 'hls.js';
import { h } from './dom.js';
import { duration as fmt, kbps } from './format.js';
import { uid } from './dom.js';
import { icon } from './icons.js';
import { qoeReporter, type QoeReporter, type QoeTarget } from './qoe.js';

export interface PlayerOptions {
  src: string;
  poster?: string | null;
  live?: boolean;
  /** Live with a DVR window: the seek bar spans what the playlist keeps, with "Back to live". */
  dvr?: boolean;
  /** WebVTT thumbnail track (sprite tiles) for seek-bar previews. */
  storyboardUrl?: string | null;
  /** Called once, on the first play. */
  onFirstPlay?: () => void;
  /** Called with whole seconds watched, every 30 s of playback and when playback stops. */
  onWatched?: (seconds: number) => void;
  /** Report playback quality (startup, stalls, renditions, errors) for this video or stream. */
  qoe?: QoeTarget;
  /** Start here (seconds) instead of at the beginning: a shared link's `?t=`. */
  startAt?: number;
}

export interface Player {
  el: HTMLElement;
  video: HTMLVideoElement;
  /**
   * The keyboard shortcuts (space/k play-pause, j/l ∓10 s, ←/→ ∓5 s, ↑/↓ volume, f full screen,
   * m mute); a page passes its document's keydown here. Keys typed into fields are left alone.
   */
  handleKey(ev: KeyboardEvent): void;
  /** Shows a "muted: tap to unmute" button while the video plays muted (after a muted autoplay). */
  showUnmuteHint(): void;
  /**
   * Live: the server says the encoder is away (true) or back (false). "Reconnecting…" shows at once
   * and stays until the encoder is back and frames move again, even while the buffer still plays.
   */
  setSignalLost(lost: boolean): void;
  dispose(): void;
}

export function createPlayer(opts: PlayerOptions): Player {
  const video = h('video', { playsinline: true, preload: 'metadata', poster: opts.poster ?? undefined });
  const play = h('button', { type: 'button', class: 'ctl', 'aria-label': 'Play' }, icon('play'));
  const time = h('span', { class: 'time', 'aria-live': 'off' }, opts.live ? 'LIVE' : '0:00 / 0:00');
  const seek = h('input', { type: 'range', class: 'seek', min: 0, max: 0, step: 0.1, value: 0, 'aria-label': 'Seek', disabled: (opts.live ?? false) && !opts.dvr });
  const toLive = h('button', { type: 'button', class: 'ctl to-live', hidden: true }, 'Back to live');
  const preview = h('div', { class: 'preview', 'aria-hidden': 'true', hidden: true }, h('div', { class: 'preview-img' }), h('span', { class: 'preview-time' }));
  const mute = h('button', { type: 'button', class: 'ctl', 'aria-label': 'Mute', 'aria-pressed': 'false' }, icon('volume'));
  const qualityId = uid('q');
  const quality = h('select', { id: qualityId, class: 'quality', disabled: true }, h('option', { value: '-1' }, 'Auto'));
  const full = h('button', { type: 'button', class: 'ctl', 'aria-label': 'Full screen' }, icon('fullscreen'));
  const message = h('div', { class: 'player-message', role: 'status' });
  const unmuteHint = h('button', { type: 'button', class: 'unmute-hint', hidden: true }, icon('muted'), 'Muted: tap to unmute');
  const controls = h(
    'div',
    { class: 'controls' },
    play,
    h('div', { class: 'seek-wrap' }, seek, preview),
    time,
    toLive,
    mute,
    h('label', { class: 'sr-only', for: qualityId }, 'Quality'),
    quality,
    full,
  );
  const el = h('div', { class: `player${opts.live ? ' live' : ''}${opts.live && opts.dvr ? ' dvr' : ''}` }, video, message, unmuteHint, controls);

  let hls: Hls | null = null;
  let disposed = false;
  let started = false;
  let watched = 0;
  let reported = 0;
  let lastTick: number | null = null;

  // Playback quality: startup from the first play request to the first frame, stalls after it.
  let height: number | null = null;
  let playRequestedAt: number | null = null;
  let firstFrame = false;
  let stalled = false;
  const qoe: QoeReporter | null = opts.qoe ? qoeReporter(opts.qoe, () => ({ position: video.currentTime, height, paused: video.paused })) : null;
  video.addEventListener('play', () => {
    playRequestedAt ??= performance.now();
    if (firstFrame) qoe?.heartbeat();
  });
  video.addEventListener('playing', () => {
    if (!firstFrame && playRequestedAt !== null) {
      firstFrame = true;
      qoe?.event({ type: 'startup', ms: Math.round(performance.now() - playRequestedAt) });
    } else if (stalled) {
      stalled = false;
      qoe?.event({ type: 'rebuffer_end' });
    }
  });
  video.addEventListener('waiting', () => {
    // A seek waits too, but that is the viewer's doing, not a stall.
    if (firstFrame && !stalled && !video.seeking) {
      stalled = true;
      qoe?.event({ type: 'rebuffer_start' });
    }
  });
  video.addEventListener('pause', () => {
    if (firstFrame && !video.ended) qoe?.heartbeat();
  });
  video.addEventListener('ended', () => qoe?.end());

  const report = () => {
    const whole = Math.floor(watched - reported);
    if (whole > 0 && opts.onWatched) {
      reported += whole;
      opts.onWatched(whole);
    }
  };

  video.addEventListener('play', () => {
    play.replaceChildren(icon('pause'));
    play.setAttribute('aria-label', 'Pause');
    if (!started) {
      started = true;
      opts.onFirstPlay?.();
    }
  });
  video.addEventListener('pause', () => {
    play.replaceChildren(icon('play'));
    play.setAttribute('aria-label', 'Play');
    lastTick = null;
    report();
  });
  video.addEventListener('timeupdate', () => {
    const now = video.currentTime;
    // Count real playback only: a seek jumps far, a tick moves a fraction of a second.
    if (lastTick !== null && !video.paused && now > lastTick && now - lastTick < 2) watched += now - lastTick;
    lastTick = now;
    if (watched - reported >= 30) report();
    if (!opts.live) {
      if (document.activeElement !== seek) seek.value = String(now);
      time.textContent = `${fmt(now)} / ${fmt(video.duration)}`;
    } else if (opts.dvr) {
      paintDvr(now);
    }
  });

  // DVR: the bar runs over the seekable window; behind the live edge the time shows how far.
  const liveEdge = () => hls?.liveSyncPosition ?? (video.seekable.length ? video.seekable.end(video.seekable.length - 1) : video.currentTime);
  function paintDvr(now: number): void {
    if (!video.seekable.length) return;
    const start = video.seekable.start(0);
    const end = video.seekable.end(video.seekable.length - 1);
    seek.min = String(start);
    seek.max = String(end);
    if (document.activeElement !== seek) seek.value = String(now);
    const behind = Math.max(0, liveEdge() - now);
    // A few seconds behind the edge is normal live latency, not "rewound".
    const rewound = behind > 8;
    toLive.hidden = !rewound;
    time.textContent = rewound ? `-${fmt(behind)}` : 'LIVE';
  }
  toLive.addEventListener('click', () => {
    video.currentTime = liveEdge();
    void video.play().catch(() => {});
  });
  video.addEventListener('seeking', () => (lastTick = null));
  video.addEventListener('loadedmetadata', () => {
    if (!opts.live && Number.isFinite(video.duration)) {
      seek.max = String(video.duration);
      time.textContent = `0:00 / ${fmt(video.duration)}`;
    }
  });
  video.addEventListener('volumechange', () => {
    mute.replaceChildren(icon(video.muted ? 'muted' : 'volume'));
    mute.setAttribute('aria-pressed', String(video.muted));
  });
  video.addEventListener('click', () => void togglePlay());

  const togglePlay = async () => {
    if (video.paused) {
      try {
        await video.play();
      } catch {
        // Autoplay policy or a decode problem; the message area shows decode errors.
      }
    } else {
      video.pause();
    }
  };
  play.addEventListener('click', () => void togglePlay());
  mute.addEventListener('click', () => (video.muted = !video.muted));
  full.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void el.requestFullscreen?.();
  });
  seek.addEventListener('input', () => (video.currentTime = Number(seek.value)));
  const seekBy = (delta: number) => {
    if (opts.live && !opts.dvr) return;
    const end = Number.isFinite(video.duration) ? video.duration : liveEdge();
    video.currentTime = Math.max(0, Math.min(end, video.currentTime + delta));
  };
  function handleKey(ev: KeyboardEvent): void {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const target = ev.target as HTMLElement | null;
    if (target?.closest?.('input, textarea, select, [contenteditable=""], [contenteditable="true"]')) return;
    // Space and Enter on a button or link are that control's own click.
    if ((ev.key === ' ' || ev.key === 'Enter') && target?.closest?.('button, a, summary')) return;
    const actions: Record<string, () => void> = {
      ' ': () => void togglePlay(),
      k: () => void togglePlay(),
      j: () => seekBy(-10),
      l: () => seekBy(10),
      ArrowLeft: () => seekBy(-5),
      ArrowRight: () => seekBy(5),
      ArrowUp: () => (video.volume = Math.min(1, video.volume + 0.1)),
      ArrowDown: () => (video.volume = Math.max(0, video.volume - 0.1)),
      f: () => full.click(),
      m: () => (video.muted = !video.muted),
    };
    const act = actions[ev.key.length === 1 ? ev.key.toLowerCase() : ev.key];
    if (!act) return;
    ev.preventDefault();
    act();
  }
  el.addEventListener('keydown', handleKey);
  if (opts.startAt !== undefined) {
    const at = opts.startAt;
    video.addEventListener(
      'loadedmetadata',
      () => {
        if (Number.isFinite(video.duration)) video.currentTime = Math.min(at, Math.max(0, video.duration - 0.5));
      },
      { once: true },
    );
  }
  unmuteHint.addEventListener('click', () => {
    video.muted = false;
    unmuteHint.hidden = true;
  });
  video.addEventListener('volumechange', () => {
    if (!video.muted) unmuteHint.hidden = true;
  });

  // Live: when the encoder drops, the playlist stops growing and the picture would freeze under
  // "LIVE". The page passes on the server's word that the encoder is away (setSignalLost), which
  // comes before the buffer runs dry; a watchdog also notices playback not moving. Either says
  // "Reconnecting…", the watchdog asks for the playlist again every few seconds, and clears the
  // message once frames move again (and the encoder is back, if the server said it was away).
  let reconnecting = false;
  let signalLost = false;
  let watchdog: ReturnType<typeof setInterval> | null = null;
  if (opts.live) {
    let lastPos = -1;
    let stuckSince: number | null = null;
    let lastReload = 0;
    watchdog = setInterval(() => {
      if (disposed || video.paused || video.seeking || !started) {
        stuckSince = null;
        return;
      }
      const now = performance.now();
      if (video.currentTime !== lastPos) {
        lastPos = video.currentTime;
        stuckSince = null;
        if (reconnecting && !signalLost) setReconnecting(false);
        return;
      }
      stuckSince ??= now;
      if (now - stuckSince >= 1500 && !reconnecting) setReconnecting(true);
      if (reconnecting && hls && now - lastReload > 4000) {
        lastReload = now;
        hls.startLoad(-1);
      }
    }, 500);
  }
  function setReconnecting(on: boolean): void {
    reconnecting = on;
    el.classList.toggle('reconnecting', on);
    message.classList.toggle('reconnecting', on);
    message.textContent = on ? 'Reconnecting…' : '';
    if (!opts.dvr || !on) time.textContent = on ? 'Reconnecting' : 'LIVE';
  }

  if (opts.storyboardUrl && !opts.live) void attachStoryboard(seek, preview, opts.storyboardUrl, () => video.duration);

  const showMessage = (text: string) => (message.textContent = text);

  async function load(): Promise<void> {
    const { default: HlsCtor } = await import('hls.js/light');
    if (disposed) return;
    if (HlsCtor.isSupported()) {
      const instance = new HlsCtor({ liveSyncDurationCount: 3, enableWorker: true });
      hls = instance;
      instance.on(HlsCtor.Events.MANIFEST_PARSED, () => {
        const levels = instance.levels.map((l, i) => ({ i, height: l.height, bitrate: l.bitrate })).sort((a, b) => b.height - a.height);
        quality.replaceChildren(h('option', { value: '-1' }, 'Auto'), ...levels.map((l) => h('option', { value: String(l.i) }, `${l.height}p · ${kbps(l.bitrate)}`)));
        quality.disabled = levels.length < 2;
      });
      instance.on(HlsCtor.Events.LEVEL_SWITCHED, (_e, data) => {
        const level = instance.levels[data.level];
        if (level && level.height !== height) {
          height = level.height;
          qoe?.event({ type: 'level_switch', height: level.height, bitrate: level.bitrate });
        }
        const auto = quality.options[0];
        if (auto) auto.textContent = instance.autoLevelEnabled ? `Auto (${instance.levels[data.level]?.height ?? '?'}p)` : 'Auto';
      });
      let mediaRecoveries = 0;
      instance.on(HlsCtor.Events.ERROR, (_e, data) => {
        qoe?.event({
          type: 'error',
          fatal: data.fatal,
          kind:
            String(data.details || data.type)
              .replace(/[^A-Za-z0-9_.:-]/g, '')
              .slice(0, 64) || 'unknown',
        });
        if (!data.fatal) return;
        if (data.type === HlsCtor.ErrorTypes.NETWORK_ERROR) {
          showMessage(opts.live ? 'Waiting for the stream…' : 'Network problem; retrying…');
          setTimeout(() => !disposed && instance.startLoad(), 3000);
        } else if (data.type === HlsCtor.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 3) {
          mediaRecoveries += 1;
          instance.recoverMediaError();
        } else {
          showMessage('This video cannot be played in this browser.');
        }
      });
      instance.on(HlsCtor.Events.FRAG_LOADED, () => {
        if (!reconnecting) showMessage('');
      });
      quality.addEventListener('change', () => (instance.currentLevel = Number(quality.value)));
      instance.loadSource(opts.src);
      instance.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari plays HLS itself and picks the quality on its own.
      video.src = opts.src;
      quality.hidden = true;
    } else {
      showMessage('This browser cannot play HLS video.');
    }
  }
  void load();

  return {
    el,
    video,
    handleKey,
    showUnmuteHint() {
      if (video.muted) unmuteHint.hidden = false;
    },
    setSignalLost(lost) {
      if (!opts.live || disposed || lost === signalLost) return;
      signalLost = lost;
      if (lost && !reconnecting) setReconnecting(true);
      // Back: the watchdog clears the message once frames move; a paused player has none to wait for.
      if (!lost && reconnecting && (video.paused || !started)) setReconnecting(false);
    },
    dispose() {
      disposed = true;
      if (watchdog) clearInterval(watchdog);
      report();
      qoe?.end();
      hls?.destroy();
      video.removeAttribute('src');
      video.load();
    },
  };
}

interface Cue {
  start: number;
  end: number;
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function vttSeconds(t: string): number {
  const parts = t.trim().split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/** Parses a WebVTT thumbnail track whose cues name sprite rectangles (`sprite.jpg#xywh=x,y,w,h`). */
export function parseStoryboard(vtt: string, base: string): Cue[] {
  const cues: Cue[] = [];
  const lines = vtt.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*([\d:.]+)\s+-->\s+([\d:.]+)/.exec(lines[i]);
    const target = lines[i + 1]?.trim();
    if (!m || !target) continue;
    const frag = /#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(target);
    if (!frag) continue;
    const url = new URL(target.slice(0, frag.index), base).toString();
    cues.push({ start: vttSeconds(m[1]), end: vttSeconds(m[2]), url, x: +frag[1], y: +frag[2], w: +frag[3], h: +frag[4] });
  }
  return cues;
}

/** Hovering the seek bar (or moving it from the keyboard) shows the storyboard tile for that moment. */
async function attachStoryboard(seek: HTMLInputElement, preview: HTMLElement, storyboardUrl: string, getDuration: () => number): Promise<void> {
  let cues: Cue[];
  try {
    const res = await fetch(storyboardUrl);
    if (!res.ok) return;
    cues = parseStoryboard(await res.text(), new URL(storyboardUrl, location.href).toString());
  } catch {
    return;
  }
  if (!cues.length) return;
  const img = preview.firstElementChild as HTMLElement;
  const label = preview.lastElementChild as HTMLElement;
  const showAt = (seconds: number, x: number) => {
    const d = getDuration();
    if (!Number.isFinite(d) || d <= 0) return;
    const t = Math.max(0, Math.min(d, seconds));
    const cue = cues.find((c) => t >= c.start && t < c.end) ?? cues[cues.length - 1];
    Object.assign(img.style, {
      width: `${cue.w}px`,
      height: `${cue.h}px`,
      backgroundImage: `url("${encodeURI(cue.url)}")`,
      backgroundPosition: `-${cue.x}px -${cue.y}px`,
    });
    label.textContent = fmt(t);
    const half = cue.w / 2;
    preview.style.left = `${Math.max(half, Math.min(seek.clientWidth - half, x))}px`;
    preview.hidden = false;
  };
  seek.addEventListener('pointermove', (ev) => {
    const r = seek.getBoundingClientRect();
    const x = ev.clientX - r.left;
    showAt((x / r.width) * getDuration(), x);
  });
  seek.addEventListener('input', () => {
    const d = getDuration();
    if (d > 0) showAt(Number(seek.value), (Number(seek.value) / d) * seek.clientWidth);
  });
  const hide = () => (preview.hidden = true);
  seek.addEventListener('pointerleave', hide);
  seek.addEventListener('blur', hide);
  seek.addEventListener('change', hide);
}

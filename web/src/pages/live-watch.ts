// Watch a live stream: the live player (when the stream is on air), viewer count, and the chat
// panel beside it (below it on a phone). Its creator and admins get the moderation controls. A muted
// autostart says how to unmute; a dropped encoder shows "Reconnecting…" as soon as the stream's
// status says so (or the player notices playback stuck); an ended broadcast links to its recording
// once there is one.
import { h, replace } from '../dom.js';
import { ApiError, errorText, get } from '../api.js';
import { chatPanel, type ChatPanel } from '../chat.js';
import { ago, count } from '../format.js';
import { createPlayer, type Player } from '../player.js';
import type { Page, PageContext } from '../router.js';
import { session } from '../session.js';
import type { Stream } from '../types.js';
import { badge } from '../ui.js';

const POLL_MS = 5000;
/** While live and in view, polled faster so a dropped encoder is announced promptly. */
const LIVE_POLL_MS = 2000;

export function liveWatchPage(ctx: PageContext): Page {
  const id = ctx.params.id;
  const heading = h('h1', null, 'Live');
  const stage = h('div', { class: 'stage' }, h('div', { class: 'offline' }, h('p', null, 'Loading…')));
  const statusLine = h('p', { class: 'row status-line', role: 'status' });
  const side = h('div', { class: 'side' });
  const el = h('section', { class: 'page live-watch' }, h('div', { class: 'main-col' }, stage, heading, statusLine), side);

  let player: Player | null = null;
  let chat: ChatPanel | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;
  let shownStatus = '';
  let shownLine = '';
  let endedPolls = 0;
  let recordingReady = false;

  function showOffline(text: string, recordingId?: string | null): void {
    player?.dispose();
    player = null;
    const recording = recordingId ? h('p', null, h('a', { href: `/watch/${encodeURIComponent(recordingId)}`, class: 'button' }, 'Watch the recording')) : null;
    replace(stage, h('div', { class: 'offline' }, h('div', null, h('p', null, text), recording)));
  }

  function paint(s: Stream): void {
    heading.textContent = s.title;
    document.title = `${s.title} · Nova`;
    const since = s.status === 'live' && s.started_at ? ` · started ${ago(s.started_at)}` : '';
    // Rewritten only when it reads differently: the line is a live region, polled every few seconds.
    const line = `${s.status}:${count(s.viewer_count ?? 0, 'viewer')} watching${since}`;
    if (line !== shownLine || !statusLine.firstChild) {
      shownLine = line;
      replace(statusLine, badge(s.status), h('span', null, `${count(s.viewer_count ?? 0, 'viewer')} watching${since}`));
    }
    const shown = `${s.status}:${s.recording_video_id ?? ''}:${recordingReady}`;
    const lost = s.status === 'live' && s.encoder_connected === false;
    if (shown === shownStatus) {
      player?.setSignalLost(lost);
      return;
    }
    const wasLive = shownStatus.startsWith('live:');
    shownStatus = shown;
    if (s.status === 'live' && wasLive) {
      player?.setSignalLost(lost);
      return;
    }
    if (s.status === 'live' && s.playback_url) {
      player?.dispose();
      player = createPlayer({ src: s.playback_url, live: true, dvr: (s.dvr_window_seconds ?? 0) > 0, qoe: { stream_id: s.id } });
      replace(stage, player.el);
      // Live playback starts muted so browsers allow it to start by itself.
      player.video.muted = true;
      const p = player;
      p.setSignalLost(lost);
      p.video.addEventListener('playing', () => p.showUnmuteHint(), { once: true });
      void p.video.play().catch(() => {});
    } else if (s.status === 'idle' && s.reusable && s.recording_video_id) {
      showOffline('Offline for now. The last broadcast is on its recording page; this page switches to the video when the next one starts.', s.recording_video_id);
    } else if (s.status === 'ended') {
      showOffline(recordingReady ? 'This broadcast has ended.' : 'This broadcast has ended. Its recording is linked here once it is ready.', recordingReady ? s.recording_video_id : null);
    } else {
      showOffline('The stream has not started yet. This page switches to the video when it does.');
    }
  }

  async function poll(): Promise<void> {
    timer = null;
    try {
      const s = await get<Stream>(`/api/v1/streams/${encodeURIComponent(id)}`);
      if (disposed) return;
      paint(s);
      if (!chat) {
        const canModerate = Boolean(session.user && (session.user.id === s.creator_id || session.isAdmin));
        chat = chatPanel(id, { canModerate });
        replace(side, chat.el);
      }
      // An ended stream changes no more, except that its recording appears (and becomes watchable,
      // which is when others can see it) a little later.
      if (s.status === 'ended') {
        if (s.recording_video_id && !recordingReady) {
          recordingReady = await get<{ status: string }>(`/api/v1/videos/${encodeURIComponent(s.recording_video_id)}`).then(
            (v) => v.status === 'ready',
            () => false,
          );
          if (recordingReady && !disposed) paint(s);
        }
        if (recordingReady || ++endedPolls > 120) return;
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        heading.textContent = 'Stream not found';
        showOffline(err.detail);
        return;
      }
      shownLine = '';
      replace(statusLine, h('span', { class: 'notice error', role: 'alert' }, errorText(err)));
    }
    if (!disposed) timer = setTimeout(poll, shownStatus.startsWith('live:') && document.visibilityState === 'visible' ? LIVE_POLL_MS : POLL_MS);
  }

  void poll();
  return {
    title: 'Live',
    el,
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      player?.dispose();
      chat?.dispose();
    },
  };
}

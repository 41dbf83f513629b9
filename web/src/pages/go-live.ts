// Go live: one reusable stream per creator (its key works for every broadcast), then a dashboard
// with the RTMP URL and stream key (reveal, copy, rotate; OBS settings), status and viewers, ingest
// health while live, the chat with its moderation tools, its broadcasts with their recordings,
// "end broadcast" and "delete stream".
import { h, replace, uid } from '../dom.js';
import { del, errorText, get, post } from '../api.js';
import { chatPanel } from '../chat.js';
import { signInRequired } from '../guard.js';
import { ago, count, duration } from '../format.js';
import { navigate, type Page, type PageContext } from '../router.js';
import { session, userStorageKey } from '../session.js';
import type { Broadcast, CreatedStream, IngestHealth, Page as ListPage, Stream, StreamIngest } from '../types.js';
import { badge, copyField, field, notice } from '../ui.js';

const POLL_MS = 3000;

// The server keeps only a hash of the stream key: it is returned once, when the stream is made or
// its key rotated. The dashboard keeps it in this browser's localStorage, per user and stream, so
// "Show" still works after a reload; another browser rotates the key to get one. Signing out
// removes them (session.clear).
const keyStore = () => userStorageKey('streamKeys', session.user?.id ?? 'anonymous');

function rememberedKeys(): Record<string, string> {
  try {
    const parsed = JSON.parse(localStorage.getItem(keyStore()) ?? '{}') as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function rememberKey(streamId: string, key: string | null): void {
  const keys = rememberedKeys();
  if (key) keys[streamId] = key;
  else delete keys[streamId];
  try {
    localStorage.setItem(keyStore(), JSON.stringify(keys));
  } catch {
    // Storage full or blocked: the key stays on screen until the page is left.
  }
}

export function goLivePage(ctx: PageContext): Page {
  const title = ctx.params.id ? 'Stream dashboard' : 'Go live';
  const guard = signInRequired(title, 'Sign in to stream live.');
  if (guard) return guard;
  return ctx.params.id ? dashboard(ctx.params.id) : createPage();
}

function createPage(): Page {
  const name = field('Stream title', { name: 'title', required: true, maxlength: 200, placeholder: 'What are you streaming?' });
  const dvr = h('input', { type: 'checkbox', name: 'dvr', checked: true });
  const clips = h('input', { type: 'checkbox', name: 'clips' });
  const msg = notice();
  const submit = h('button', { type: 'submit' }, 'Create stream');
  const form = h(
    'form',
    { class: 'stack card-panel' },
    name.wrap,
    h('label', { class: 'row' }, dvr, 'Let viewers rewind up to 30 minutes while live'),
    h('label', { class: 'row' }, clips, 'Let viewers make clips'),
    h('p', { class: 'hint' }, 'Your stream key keeps working for every broadcast: set it in your encoder once.'),
    msg.el,
    submit,
  );
  const mine = h('div');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.clear();
    const t = name.input.value.trim();
    if (!t) {
      msg.error('Give the stream a title.');
      name.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await post<CreatedStream>('/api/v1/streams', { title: t, reusable: true, dvr_window_seconds: dvr.checked ? 1800 : 0, clips_by_viewers: clips.checked });
      rememberKey(res.stream.id, res.stream_key);
      navigate(`/go-live/${res.stream.id}`);
    } catch (err) {
      msg.error(errorText(err));
      submit.disabled = false;
    }
  });

  // Listing one's own streams is a convenience: hidden when the server does not offer it.
  get<ListPage<Stream>>('/api/v1/streams?creator=me&limit=10')
    .then((res) => {
      const active = res.items.filter((s) => s.status !== 'ended');
      // One reusable stream per creator: once there is one, its dashboard replaces the form.
      const reusable = active.find((s) => s.reusable);
      if (reusable) {
        replace(
          form,
          h('h2', null, reusable.title),
          badge(reusable.status),
          h('p', null, 'Your stream key works for every broadcast: start streaming from your encoder whenever you like.'),
          h('a', { href: `/go-live/${reusable.id}`, class: 'button' }, 'Open stream dashboard'),
        );
        return;
      }
      if (!active.length) return;
      replace(
        mine,
        h(
          'div',
          { class: 'card-panel' },
          h('h2', null, 'Your streams'),
          h(
            'ul',
            { class: 'plain' },
            active.map((s) => h('li', { class: 'row spread' }, h('a', { href: `/go-live/${s.id}` }, s.title), badge(s.status))),
          ),
        ),
      );
    })
    .catch(() => {});

  return { title: 'Go live', el: h('section', { class: 'page narrow' }, h('h1', null, 'Go live'), form, mine) };
}

function obsHints(): HTMLElement {
  return h(
    'details',
    { class: 'card-panel hints' },
    h('summary', null, 'How to stream with OBS Studio'),
    h(
      'ol',
      null,
      h('li', null, 'Open Settings → Stream. Service: ', h('strong', null, 'Custom…'), '.'),
      h('li', null, 'Server: paste the RTMP URL. Stream Key: paste the stream key.'),
      h('li', null, 'Settings → Output (Advanced): encoder x264 or hardware H.264, rate control CBR, ', h('strong', null, 'keyframe interval 2 s'), ', 2500–6000 kbps for 720p–1080p.'),
      h('li', null, 'Audio: AAC, 128–160 kbps, 44.1 or 48 kHz.'),
      h('li', null, 'Press Start Streaming. This page shows "Live" within a few seconds.'),
    ),
    h('p', { class: 'hint' }, 'Any RTMP encoder works the same way, e.g. ffmpeg: ', h('code', null, 'ffmpeg -re -i input.mp4 -c:v libx264 -g 60 -c:a aac -f flv <RTMP URL>/<stream key>')),
  );
}

function dashboard(id: string): Page {
  const heading = h('h1', null, 'Stream dashboard');
  const statusLine = h('p', { class: 'row status-line', role: 'status' });
  const credentials = h('div', { class: 'stack' });
  const msg = notice();
  const watch = h('a', { href: `/live/${id}`, class: 'button secondary' }, 'Open watch page');
  const rotate = h('button', { type: 'button', class: 'secondary' }, 'New stream key');
  const end = h('button', { type: 'button', class: 'danger' }, 'End stream');
  const remove = h('button', { type: 'button', class: 'danger', hidden: true }, 'Delete stream');
  const history = h('div', { class: 'card-panel stack', hidden: true });
  const healthBody = h('div');
  const healthHeading = uid('health');
  const health = h('section', { class: 'card-panel stack ingest-health', 'aria-labelledby': healthHeading }, h('h2', { id: healthHeading }, 'Ingest health'), healthBody);
  const chatSlot = h('div', { class: 'dashboard-chat' });
  const el = h(
    'section',
    { class: 'page narrow' },
    heading,
    statusLine,
    h('div', { class: 'card-panel stack' }, h('h2', null, 'Encoder settings'), credentials),
    h('div', { class: 'row' }, watch, rotate, end, remove),
    msg.el,
    health,
    chatSlot,
    obsHints(),
    history,
  );
  let reusable = false;
  let lastStatus = '';

  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;
  let rtmpUrl: string | null = null;
  let chat: ReturnType<typeof chatPanel> | null = null;

  function paintCredentials(): void {
    const key = rememberedKeys()[id];
    replace(
      credentials,
      rtmpUrl ? copyField('RTMP URL', rtmpUrl) : null,
      key
        ? copyField('Stream key', key, { secret: true })
        : h('p', { class: 'hint' }, 'The stream key is shown only in the browser that created it. Use "New stream key" to get a new one here (the old one stops working).'),
      key ? h('p', { class: 'hint' }, 'Keep the key secret: anyone with it can stream as you. This browser remembers it for you.') : null,
    );
  }

  function paintHealth(s: StreamIngest): void {
    const x: IngestHealth | null = s.health;
    if (!x) {
      replace(
        healthBody,
        h(
          'p',
          { class: 'hint' },
          s.status === 'live'
            ? 'No signal from the encoder right now: viewers see "Reconnecting…" until it comes back.'
            : 'Shown while you are live: bitrate, frame rate, resolution, and dropped or late frames.',
        ),
      );
      return;
    }
    const row = (name: string, value: string, warn = false) => h('div', { class: warn ? 'warn' : undefined }, h('dt', null, name), h('dd', null, value));
    replace(
      healthBody,
      h(
        'dl',
        { class: 'health-stats' },
        row('Bitrate', `${x.bitrate_kbps.toLocaleString()} kbps`),
        row('Frame rate', `${x.fps} fps`),
        row('Resolution', x.width && x.height ? `${x.width}×${x.height}` : 'unknown'),
        row('Dropped frames', x.dropped_frames.toLocaleString(), x.dropped_frames > 0),
        row('Late frames', x.late_frames.toLocaleString(), x.late_frames > 0),
        row('Audio', x.audio ? 'yes' : 'none'),
      ),
      h('p', { class: 'hint' }, `Measured ${ago(x.measured_at)}. Late frames arrived over a second behind the encoder's clock; dropped frames were skipped by the transcoder.`),
    );
  }

  async function pollIngest(): Promise<void> {
    try {
      const s = await get<StreamIngest>(`/api/v1/streams/${encodeURIComponent(id)}/ingest`);
      if (disposed) return;
      if (s.rtmp_url !== rtmpUrl) {
        rtmpUrl = s.rtmp_url;
        paintCredentials();
      }
      paintHealth(s);
    } catch {
      // Only the creator (or an admin) may read it; the rest of the dashboard works without it.
      health.hidden = true;
    }
  }

  function paint(s: Stream): void {
    heading.textContent = s.title;
    document.title = `${s.title} · Nova`;
    const since = s.status === 'live' && s.started_at ? ` · started ${ago(s.started_at)}` : s.status === 'ended' && s.ended_at ? ` · ended ${ago(s.ended_at)}` : '';
    replace(statusLine, badge(s.status), h('span', null, `${count(s.viewer_count ?? 0, 'viewer')}${since}`));
    const ended = s.status === 'ended';
    reusable = Boolean(s.reusable);
    // A reusable stream ends broadcasts; deleting it is what ends it for good.
    end.textContent = reusable ? 'End broadcast' : 'End stream';
    end.disabled = ended || (reusable && s.status !== 'live');
    rotate.disabled = ended;
    remove.hidden = !reusable || ended;
    if (s.status !== lastStatus) {
      lastStatus = s.status;
      void paintBroadcasts();
    }
    // The chat (with delete, ban and slow mode) is open while the stream has not ended.
    if (!chat && !ended && (session.user?.id === s.creator_id || session.isAdmin)) {
      chat = chatPanel(id, { canModerate: true });
      replace(chatSlot, chat.el);
    }
  }

  async function paintBroadcasts(): Promise<void> {
    try {
      const { items } = await get<{ items: Broadcast[] }>(`/api/v1/streams/${encodeURIComponent(id)}/broadcasts`);
      if (disposed || !items.length) return;
      history.hidden = false;
      replace(
        history,
        h('h2', null, 'Broadcasts'),
        h(
          'ul',
          { class: 'plain' },
          items.map((b) =>
            h(
              'li',
              { class: 'row spread' },
              h('span', null, `${ago(b.started_at)}${b.duration_seconds !== null ? ` · ${duration(b.duration_seconds)}` : ''} · ${count(b.peak_viewer_count, 'viewer')} at most`),
              b.recording_video_id ? h('a', { href: `/watch/${b.recording_video_id}` }, 'Recording') : h('span', { class: 'meta' }, b.ended_at ? 'No recording yet' : 'Live now'),
            ),
          ),
        ),
      );
    } catch {
      // The list is a convenience; the dashboard works without it.
    }
  }

  async function poll(): Promise<void> {
    timer = null;
    try {
      const s = await get<Stream>(`/api/v1/streams/${encodeURIComponent(id)}`);
      if (disposed) return;
      paint(s);
      void pollIngest();
      if (s.status === 'ended') return;
      // Recordings appear a while after a broadcast ends.
      if (reusable && s.status === 'idle' && Math.random() < 0.2) void paintBroadcasts();
    } catch (err) {
      msg.error(errorText(err));
    }
    if (!disposed) timer = setTimeout(poll, POLL_MS);
  }

  rotate.addEventListener('click', async () => {
    if (!confirm('Make a new stream key? The current one stops working, and an encoder using it is disconnected.')) return;
    msg.clear();
    try {
      const res = await post<{ stream_key: string; rtmp_url?: string }>(`/api/v1/streams/${id}/key`);
      rtmpUrl = res.rtmp_url ?? rtmpUrl;
      rememberKey(id, res.stream_key);
      paintCredentials();
      msg.ok('New stream key created. Update it in your encoder.');
    } catch (err) {
      msg.error(errorText(err));
    }
  });
  end.addEventListener('click', async () => {
    if (!confirm(reusable ? 'End this broadcast for everyone? Your key keeps working for the next one.' : 'End the stream for everyone?')) return;
    msg.clear();
    try {
      paint(await post<Stream>(`/api/v1/streams/${id}/end`));
      msg.ok(reusable ? 'The broadcast has ended. Stream again with the same key whenever you like.' : 'The stream has ended.');
    } catch (err) {
      msg.error(errorText(err));
    }
  });
  remove.addEventListener('click', async () => {
    if (!confirm('Delete this stream for good? Its key stops working and cannot be brought back; recordings stay.')) return;
    msg.clear();
    try {
      await del(`/api/v1/streams/${id}`);
      rememberKey(id, null);
      navigate('/go-live');
    } catch (err) {
      msg.error(errorText(err));
    }
  });

  paintCredentials();
  void poll();
  return {
    title: 'Stream dashboard',
    el,
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      chat?.dispose();
    },
  };
}

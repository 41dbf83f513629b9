// The embedded player (/embed/{id}, web/embed.html): only the video, filling the frame another site
// gives it, with a link to the watch page. Public and unlisted videos play; anything else says why.
import './styles.css';
import { h, replace } from './dom.js';
import { ApiError, errorText, get, post } from './api.js';
import { createPlayer } from './player.js';
import { viewerId } from './session.js';
import type { Playback, Video } from './types.js';

async function mount(app: HTMLElement, id: string): Promise<void> {
  const start = Number(new URLSearchParams(location.search).get('t'));
  const main = h('main', { class: 'embed-main' }, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  replace(app, main);
  let video: Video;
  let playback: Playback;
  try {
    video = await get<Video>(`/api/v1/videos/${encodeURIComponent(id)}`);
    playback = await get<Playback>(`/api/v1/videos/${encodeURIComponent(id)}/playback`);
  } catch (err) {
    const text = err instanceof ApiError && err.status === 404 ? 'This video is not available.' : errorText(err);
    replace(main, h('h1', { class: 'embed-error' }, text));
    return;
  }
  document.title = `${video.title} · Nova`;
  const player = createPlayer({
    src: playback.manifest_url,
    poster: playback.thumbnail_url ?? video.thumbnail_url,
    storyboardUrl: playback.storyboard_url ?? video.storyboard_url ?? null,
    startAt: Number.isFinite(start) && start > 0 ? start : undefined,
    onFirstPlay: () => void post(`/api/v1/videos/${encodeURIComponent(id)}/views`, { viewer_id: viewerId() }).catch(() => {}),
    qoe: { video_id: id },
  });
  const watchUrl = new URL(`/watch/${encodeURIComponent(id)}`, location.origin).toString();
  replace(main, h('h1', { class: 'embed-title' }, h('a', { href: watchUrl, target: '_blank', rel: 'noopener' }, video.title)), player.el);
  document.addEventListener('keydown', (ev) => player.handleKey(ev));
}

void mount(document.getElementById('app')!, decodeURIComponent(location.pathname.split('/')[2] ?? ''));

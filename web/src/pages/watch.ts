// Watch a video: the player with its quality menu and storyboard, views and likes. A video that
// is still processing shows its live progress and turns into the player when it is ready.
import { h, replace } from '../dom.js';
import { ApiError, del, errorText, get, post, put } from '../api.js';
import { ago, count, duration } from '../format.js';
import { chatReplayPanel, type ChatReplayPanel } from '../chat-replay.js';
import { createPlayer, type Player } from '../player.js';
import { processingView, type ProcessingView } from '../processing.js';
import { receiptTable } from '../receipt.js';
import { navigate, type Page, type PageContext } from '../router.js';
import { session, viewerId } from '../session.js';
import type { Engagement, Playback, Video } from '../types.js';
import { badge, loading, notice } from '../ui.js';

export function watchPage(ctx: PageContext): Page {
  const id = ctx.params.id;
  const heading = h('h1', null, 'Video');
  const stage = h('div', { class: 'stage' });
  const info = h('div', { class: 'video-info' });
  const el = h('section', { class: 'page watch' }, stage, heading, info);
  const page: Page = { title: 'Watch', el };

  let player: Player | null = null;
  let processing: ProcessingView | null = null;
  let replay: ChatReplayPanel | null = null;
  let disposed = false;
  let onViews: ((n: number) => void) | null = null;

  async function load(): Promise<void> {
    loading(stage);
    let video: Video;
    try {
      video = await get<Video>(`/api/v1/videos/${encodeURIComponent(id)}`);
    } catch (err) {
      heading.textContent = err instanceof ApiError && err.status === 404 ? 'Video not found' : 'Could not load this video';
      replace(stage, h('p', { class: 'notice error', role: 'alert' }, errorText(err)));
      return;
    }
    if (disposed) return;
    heading.textContent = video.title;
    document.title = `${video.title} · Nova`;
    renderInfo(video);

    if (video.status !== 'ready') {
      processing = processingView(id, (p) => {
        if (p.status === 'ready' && !disposed) void load();
      });
      replace(stage, h('div', { class: 'card-panel' }, h('p', null, 'This video is not ready yet. ', badge(video.status)), processing.el));
      return;
    }
    let playback: Playback;
    try {
      playback = await get<Playback>(`/api/v1/videos/${encodeURIComponent(id)}/playback`);
    } catch (err) {
      replace(stage, h('p', { class: 'notice error', role: 'alert' }, errorText(err)));
      return;
    }
    if (disposed) return;
    processing?.dispose();
    player = createPlayer({
      src: playback.manifest_url,
      poster: playback.thumbnail_url ?? video.thumbnail_url,
      storyboardUrl: playback.storyboard_url ?? video.storyboard_url ?? null,
      onFirstPlay: () => {
        post<{ views: number }>(`/api/v1/videos/${id}/views`, session.user ? {} : { viewer_id: viewerId() }).then((r) => onViews?.(r.views), () => {});
      },
      qoe: { video_id: id },
      onWatched: (seconds) => {
        if (session.user) void post(`/api/v1/videos/${id}/watch`, { seconds }).catch(() => {});
      },
    });
    replace(stage, player.el);
    // A recording of a broadcast (or a clip of one) brings its chat along, in time with the video.
    const p = player;
    chatReplayPanel(id, p.video).then((panel) => {
      if (!panel || disposed || player !== p) return panel?.dispose();
      replay = panel;
      el.append(panel.el);
    }, () => {});
  }

  function renderInfo(video: Video): void {
    let likes: number | null = null;
    let liked = false;
    const views = h('span');
    const likeMsg = notice();
    // A toggle keeps one name ("Like"); aria-pressed says whether it is on, the count sits beside it.
    const like = h('button', { type: 'button', class: 'secondary like', 'aria-pressed': 'false' });
    const likeCount = h('span', { class: 'meta' });
    const paintLike = () => {
      like.textContent = `${liked ? '♥' : '♡'} Like`;
      like.setAttribute('aria-pressed', String(liked));
      likeCount.textContent = likes === null ? '' : count(likes, 'like');
    };
    onViews = (n) => (views.textContent = count(n, 'view'));
    paintLike();
    get<Engagement>(`/api/v1/videos/${encodeURIComponent(id)}/engagement`).then((e) => {
      likes = e.likes;
      liked = e.liked ?? false;
      onViews?.(e.views);
      paintLike();
    }, () => {});
    like.addEventListener('click', async () => {
      likeMsg.clear();
      if (!session.user) {
        navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      like.disabled = true;
      try {
        const res = liked ? await del<{ liked: boolean; likes: number }>(`/api/v1/videos/${id}/like`) : await put<{ liked: boolean; likes: number }>(`/api/v1/videos/${id}/like`);
        liked = res.liked;
        likes = res.likes;
        paintLike();
      } catch (err) {
        likeMsg.error(errorText(err));
      } finally {
        like.disabled = false;
      }
    });

    const actions = h('div', { class: 'row' }, like, likeCount);
    if (session.user && (session.user.id === video.owner_id || session.isAdmin)) {
      actions.append(h('a', { href: `/watch/${encodeURIComponent(id)}/quality`, class: 'button secondary' }, 'Playback quality'));
      const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
      remove.addEventListener('click', async () => {
        if (!confirm(`Delete "${video.title}"? This cannot be undone.`)) return;
        try {
          await del(`/api/v1/videos/${id}`);
          navigate('/me/videos');
        } catch (err) {
          likeMsg.error(errorText(err));
        }
      });
      actions.append(remove);
    }
    const meta = [video.owner_username, ago(video.created_at), video.duration_seconds ? duration(video.duration_seconds) : null].filter(Boolean).join(' · ');
    replace(info,
      h('div', { class: 'row spread' }, h('p', { class: 'meta dots' }, views, meta ? h('span', null, meta) : null), actions),
      likeMsg.el,
      video.description ? h('p', { class: 'description' }, video.description) : null,
      video.status === 'ready' ? receiptTable(video) : null);
  }

  void load();
  page.dispose = () => {
    disposed = true;
    player?.dispose();
    processing?.dispose();
    replay?.dispose();
  };
  return page;
}

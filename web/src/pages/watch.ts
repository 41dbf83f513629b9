// Watch a video: the player with its quality menu and storyboard, views and likes. A video that
// is still processing shows its live progress and turns into the player when it is ready. Its
// owner (or an admin) edits title, description, tags and visibility in place.
import { h, replace } from '../dom.js';
import { ApiError, del, errorText, get, patch, post, put } from '../api.js';
import { ago, count, duration } from '../format.js';
import { chatReplayPanel, type ChatReplayPanel } from '../chat-replay.js';
import { createPlayer, type Player } from '../player.js';
import { processingView, type ProcessingView } from '../processing.js';
import { receiptTable } from '../receipt.js';
import { navigate, type Page, type PageContext } from '../router.js';
import { session, viewerId } from '../session.js';
import type { Engagement, Playback, Video, Visibility } from '../types.js';
import { badge, field, loading, notice, select, textarea } from '../ui.js';

const VISIBILITY: Array<[Visibility, string]> = [['public', 'Public: listed everywhere'], ['unlisted', 'Unlisted: anyone with the link'], ['private', 'Private: only you']];

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
      const edit = h('button', { type: 'button', class: 'secondary' }, 'Edit');
      edit.addEventListener('click', () => editInPlace(video));
      actions.append(edit);
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
    const hidden = video.visibility && video.visibility !== 'public' ? h('span', { class: `badge ${video.visibility}` }, video.visibility === 'private' ? 'Private' : 'Unlisted') : null;
    replace(info,
      h('div', { class: 'row spread' }, h('p', { class: 'meta dots' }, views, meta ? h('span', null, meta) : null, hidden), actions),
      likeMsg.el,
      video.tags?.length ? h('p', { class: 'meta tags' }, video.tags.map((t) => `#${t}`).join(' ')) : null,
      video.description ? h('p', { class: 'description' }, video.description) : null,
      video.status === 'ready' ? receiptTable(video) : null);
  }

  /** The info area becomes a form; saving PATCHes the video and shows the result in place. */
  function editInPlace(video: Video): void {
    const title = field('Title', { value: video.title, maxlength: 200, required: true });
    const description = textarea('Description', { maxlength: 5000, rows: 4 });
    description.input.value = video.description ?? '';
    const tags = field('Tags', { value: (video.tags ?? []).join(', ') }, 'Separated by commas');
    const visibility = select('Visibility', VISIBILITY);
    visibility.input.value = video.visibility ?? 'public';
    const msg = notice();
    const save = h('button', { type: 'submit' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const form = h('form', { class: 'edit-form', 'aria-label': 'Edit video' }, title.wrap, description.wrap, tags.wrap, visibility.wrap, msg.el, h('div', { class: 'row' }, save, cancel));
    cancel.addEventListener('click', () => renderInfo(video));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      msg.clear();
      save.disabled = true;
      try {
        const updated = await patch<Video>(`/api/v1/videos/${encodeURIComponent(id)}`, {
          title: title.input.value,
          description: description.input.value,
          tags: tags.input.value.split(',').map((t) => t.trim()).filter(Boolean),
          visibility: visibility.input.value,
        });
        heading.textContent = updated.title;
        document.title = `${updated.title} · Nova`;
        renderInfo({ ...video, ...updated });
      } catch (err) {
        msg.error(errorText(err));
        save.disabled = false;
      }
    });
    replace(info, form);
    title.input.focus();
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

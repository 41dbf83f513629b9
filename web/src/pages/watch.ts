// Watch a video: the player with its quality menu and storyboard, views and likes. A video that
// is still processing shows its live progress and turns into the player when it is ready. Its
// owner (or an admin) edits title, description, tags and visibility in place. Viewers get the
// uploader's channel and a follow button, share (link, optionally at the current time) and embed code,
// keyboard shortcuts, and more from the creator and other videos below.
import { h, replace } from '../dom.js';
import { ApiError, del, errorText, get, patch, post, put } from '../api.js';
import { ago, count, duration } from '../format.js';
import { chatReplayPanel, type ChatReplayPanel } from '../chat-replay.js';
import { createPlayer, type Player } from '../player.js';
import { processingView, type ProcessingView } from '../processing.js';
import { receiptTable } from '../receipt.js';
import { navigate, type Page, type PageContext } from '../router.js';
import { session, viewerId } from '../session.js';
import type { Channel, Engagement, Page as ListPage, Playback, Video, Visibility } from '../types.js';
import { badge, copyField, field, loading, notice, select, textarea, videoCard } from '../ui.js';
import { duration as clock } from '../format.js';

const VISIBILITY: Array<[Visibility, string]> = [
  ['public', 'Public: listed everywhere'],
  ['unlisted', 'Unlisted: anyone with the link'],
  ['private', 'Private: only you'],
];

export function watchPage(ctx: PageContext): Page {
  const id = ctx.params.id;
  const heading = h('h1', null, 'Video');
  const stage = h('div', { class: 'stage' });
  const info = h('div', { class: 'video-info' });
  const below = h('div', { class: 'below' });
  const el = h('section', { class: 'page watch' }, stage, heading, info, below);
  const startAt = Number(ctx.query.get('t'));
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
    void renderBelow(video);

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
        post<{ views: number }>(`/api/v1/videos/${id}/views`, session.user ? {} : { viewer_id: viewerId() }).then(
          (r) => onViews?.(r.views),
          () => {},
        );
      },
      qoe: { video_id: id },
      startAt: Number.isFinite(startAt) && startAt > 0 ? startAt : undefined,
      onWatched: (seconds) => {
        if (session.user) void post(`/api/v1/videos/${id}/watch`, { seconds }).catch(() => {});
      },
    });
    replace(stage, player.el);
    document.addEventListener('keydown', onKey);
    // A recording of a broadcast (or a clip of one) brings its chat along, in time with the video.
    const p = player;
    chatReplayPanel(id, p.video).then(
      (panel) => {
        if (!panel || disposed || player !== p) return panel?.dispose();
        replay = panel;
        el.append(panel.el);
      },
      () => {},
    );
  }

  const onKey = (ev: KeyboardEvent) => player?.handleKey(ev);

  /** "More from this creator" and other recent videos, without this one. */
  async function renderBelow(video: Video): Promise<void> {
    const [mine, recent] = await Promise.all([
      get<ListPage<Video>>(`/api/v1/videos?owner=${encodeURIComponent(video.owner_id)}&status=ready&limit=9`).catch(() => null),
      get<ListPage<Video>>('/api/v1/videos?sort=recent&limit=13').catch(() => null),
    ]);
    if (disposed) return;
    const fromCreator = (mine?.items ?? []).filter((v) => v.id !== id && (v.visibility ?? 'public') === 'public').slice(0, 8);
    const others = (recent?.items ?? []).filter((v) => v.id !== id && v.owner_id !== video.owner_id).slice(0, 12);
    const section = (label: string, items: Video[], owner?: string) =>
      items.length
        ? h(
            'section',
            { class: 'block', 'aria-label': label },
            h('h2', null, label),
            h(
              'div',
              { class: 'grid' },
              items.map((v) => videoCard(owner ? { ...v, owner_username: owner } : v)),
            ),
          )
        : null;
    replace(below, section(video.owner_username ? `More from ${video.owner_username}` : 'More from this creator', fromCreator, video.owner_username), section('Other videos', others));
  }

  /** The uploader's name (to their channel) and a follow button for everyone but them. */
  function uploader(video: Video): HTMLElement | null {
    const name = video.owner_username;
    if (!name) return null;
    const path = `/api/v1/users/${encodeURIComponent(name)}`;
    const wrap = h('div', { class: 'row uploader' }, h('a', { href: `/u/${encodeURIComponent(name)}`, class: 'uploader-name' }, name));
    if (session.user?.id === video.owner_id) return wrap;
    const followers = h('span', { class: 'meta' });
    const btn = h('button', { type: 'button', class: 'follow small', 'aria-pressed': 'false' }, 'Follow');
    let following = false;
    const paint = (ch: Channel) => {
      following = ch.following === true;
      btn.textContent = following ? 'Following' : 'Follow';
      btn.className = `follow small${following ? ' secondary' : ''}`;
      btn.setAttribute('aria-pressed', String(following));
      followers.textContent = count(ch.follower_count, 'follower');
    };
    get<Channel>(path).then(
      (ch) => !disposed && paint(ch),
      () => {},
    );
    btn.addEventListener('click', async () => {
      if (!session.user) return navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
      btn.disabled = true;
      try {
        if (following) await del(`${path}/follow`);
        else await put(`${path}/follow`);
        paint(await get<Channel>(path));
      } catch {
        // The button keeps its state; the next click tries again.
      } finally {
        btn.disabled = false;
      }
    });
    wrap.append(btn, followers);
    return wrap;
  }

  /** Share: the link (optionally at the current time) and the embed code, each with Copy. */
  function sharePanel(video: Video): { toggle: HTMLElement; panel: HTMLElement } {
    const toggle = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Share');
    const panel = h('div', { class: 'card-panel share', hidden: true, role: 'group', 'aria-label': 'Share' });
    const atId = `share-at-${id}`;
    const at = h('input', { type: 'checkbox', id: atId });
    const atLabel = h('label', { for: atId }, 'Start at 0:00');
    const paint = () => {
      const t = Math.floor(player?.video.currentTime ?? 0);
      atLabel.textContent = `Start at ${clock(t) || '0:00'}`;
      const url = new URL(`/watch/${encodeURIComponent(id)}`, location.origin);
      if (at.checked && t > 0) url.searchParams.set('t', String(t));
      const embedUrl = new URL(`/embed/${encodeURIComponent(id)}`, location.origin).toString();
      const title = video.title.replace(/"/g, '&quot;');
      replace(
        panel,
        copyField('Link', url.toString()),
        h('div', { class: 'row' }, at, atLabel),
        copyField('Embed code', `<iframe src="${embedUrl}" title="${title}" width="640" height="400" allow="fullscreen; autoplay" style="border:0"></iframe>`),
      );
    };
    at.addEventListener('change', paint);
    toggle.addEventListener('click', () => {
      const open = panel.hidden;
      if (open) paint();
      panel.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
    });
    return { toggle, panel };
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
    get<Engagement>(`/api/v1/videos/${encodeURIComponent(id)}/engagement`).then(
      (e) => {
        likes = e.likes;
        liked = e.liked ?? false;
        onViews?.(e.views);
        paintLike();
      },
      () => {},
    );
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

    const share = sharePanel(video);
    const actions = h('div', { class: 'row' }, like, likeCount, share.toggle);
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
    const meta = [ago(video.created_at), video.duration_seconds ? duration(video.duration_seconds) : null].filter(Boolean).join(' · ');
    const hidden = video.visibility && video.visibility !== 'public' ? h('span', { class: `badge ${video.visibility}` }, video.visibility === 'private' ? 'Private' : 'Unlisted') : null;
    replace(
      info,
      uploader(video),
      h('div', { class: 'row spread' }, h('p', { class: 'meta dots' }, views, meta ? h('span', null, meta) : null, hidden), actions),
      share.panel,
      likeMsg.el,
      video.tags?.length ? h('p', { class: 'meta tags' }, video.tags.map((t) => `#${t}`).join(' ')) : null,
      video.description ? h('p', { class: 'description' }, video.description) : null,
      video.status === 'ready' ? receiptTable(video) : null,
    );
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
          tags: tags.input.value
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
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
    document.removeEventListener('keydown', onKey);
    player?.dispose();
    processing?.dispose();
    replay?.dispose();
  };
  return page;
}

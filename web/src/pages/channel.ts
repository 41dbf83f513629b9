// A channel: the creator's live stream on top while they are live (playing, muted), their name,
// followers and a follow button, then their public videos, newest first.
import { h, replace } from '../dom.js';
import { ApiError, del, errorText, get, put } from '../api.js';
import { count } from '../format.js';
import { createPlayer, type Player } from '../player.js';
import { navigate, type Page, type PageContext } from '../router.js';
import { session } from '../session.js';
import type { Channel, Page as ListPage, Video } from '../types.js';
import { empty, loading, notice, videoCard } from '../ui.js';

export function channelPage(ctx: PageContext): Page {
  const username = ctx.params.username;
  const heading = h('h1', null, username);
  const liveSlot = h('div', { class: 'channel-live' });
  const stats = h('p', { class: 'meta', role: 'status' });
  const actions = h('div', { class: 'row' });
  const msg = notice();
  const grid = h('div', { class: 'grid', role: 'group', 'aria-label': 'Videos' });
  const el = h('section', { class: 'page channel' }, liveSlot, h('div', { class: 'row spread' }, h('div', null, heading, stats), actions), msg.el, h('h2', null, 'Videos'), grid);
  let player: Player | null = null;
  let disposed = false;

  function paint(ch: Channel): void {
    heading.textContent = ch.username;
    document.title = `${ch.username} · Nova`;
    stats.textContent = `${count(ch.follower_count, 'follower')} · ${count(ch.video_count, 'video')}`;
    const mine = session.user?.id === ch.id;
    if (mine) replace(actions);
    else {
      const following = ch.following === true;
      const btn = h('button', { type: 'button', class: following ? 'secondary follow' : 'follow', 'aria-pressed': String(following) }, following ? 'Following' : 'Follow');
      btn.addEventListener('click', async () => {
        msg.clear();
        if (!session.user) return navigate(`/signin?next=${encodeURIComponent(location.pathname)}`);
        btn.disabled = true;
        try {
          const path = `/api/v1/users/${encodeURIComponent(ch.username)}/follow`;
          if (following) await del(path);
          else await put(path);
          paint(await get<Channel>(`/api/v1/users/${encodeURIComponent(ch.username)}`));
        } catch (err) {
          msg.error(errorText(err));
          btn.disabled = false;
        }
      });
      replace(actions, btn);
    }
    const live = ch.live_stream;
    if (live && !player) {
      player = createPlayer({ src: live.playback_url, live: true });
      player.video.muted = true;
      void player.video.play().catch(() => {});
      replace(
        liveSlot,
        h('div', { class: 'stage' }, player.el),
        h('p', { class: 'row' }, h('span', { class: 'badge live' }, 'Live'), h('a', { href: `/live/${live.id}` }, live.title), h('span', { class: 'meta' }, count(live.viewer_count, 'viewer'))),
      );
    } else if (!live && player) {
      player.dispose();
      player = null;
      replace(liveSlot);
    }
  }

  async function load(): Promise<void> {
    loading(grid);
    let ch: Channel;
    try {
      ch = await get<Channel>(`/api/v1/users/${encodeURIComponent(username)}`);
    } catch (err) {
      heading.textContent = err instanceof ApiError && err.status === 404 ? 'Channel not found' : 'Could not load this channel';
      replace(grid, empty(errorText(err)));
      return;
    }
    if (disposed) return;
    paint(ch);
    try {
      const videos = await get<ListPage<Video>>(`/api/v1/videos?owner=${encodeURIComponent(ch.id)}&status=ready&limit=24`);
      if (disposed) return;
      const shown = videos.items.filter((v) => v.visibility === undefined || v.visibility === 'public' || session.user?.id === ch.id);
      replace(grid, shown.length ? shown.map((v) => videoCard({ ...v, owner_username: ch.username })) : empty('No videos yet.'));
    } catch (err) {
      replace(grid, empty(errorText(err)));
    }
  }

  void load();
  return {
    title: username,
    el,
    dispose() {
      disposed = true;
      player?.dispose();
    },
  };
}

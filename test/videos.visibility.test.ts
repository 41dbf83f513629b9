// Edit and visibility over real HTTP on SQLite and Postgres, with one real transcoded clip: the
// matrix (owner, admin, another user, anonymous) × (public, unlisted, private) on every read
// route (video, playback, media, list, search, trending, feed, channel), each change taking
// effect at once; edits validated and cleaned like creation; a bodiless view counted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getChannel, search } from '../src/client/channels.client.js';
import { recordView } from '../src/client/engagement.client.js';
import { getFeed } from '../src/client/feed.client.js';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { getTrending } from '../src/client/trending.client.js';
import { getPlayback, getVideo, listVideos, updateVideo, waitForStatus, type Video, type Visibility } from '../src/client/videos.client.js';
import { waitFor } from './helpers/browser.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { clip, createAndUpload, fetchText, playlistEntries, removeClips } from './helpers/vod.js';

type Who = 'owner' | 'admin' | 'other' | 'anonymous';
const WHO: Who[] = ['owner', 'admin', 'other', 'anonymous'];

for (const backend of TEST_BACKENDS) {
  describe(`video visibility (${backend})`, () => {
    let t: TestNova;
    let skip: string | false = false;
    let as: Record<Who, NovaClient>;
    let ownerId: string;
    let ownerName: string;
    let video: Video;
    let publicMaster: string;

    before(async () => {
      const started = await startTestNovaOn(backend, { TRENDING_DEBOUNCE_MS: '10', OUTBOX_POLL_INTERVAL_MS: '50' });
      if (typeof started === 'string') return void (skip = started);
      t = started;
      const admin = (await t.client.newUser('admin')).client;
      const o = await t.client.newUser('owner');
      ownerId = o.user.id;
      ownerName = o.user.username;
      as = { owner: o.client, admin, other: (await t.client.newUser('other')).client, anonymous: t.client.as(null) };
      const file = await clip('visibility.mp4', { width: 320, height: 240, seconds: 2 });
      const created = await createAndUpload(as.owner, file, 'Zeppelin flight over the lake');
      await waitForStatus(as.owner, created.video.id, ['ready']);
      video = (await getVideo(as.owner, created.video.id)).body;
      publicMaster = video.manifest_url!;
      // Some engagement, so the video trends.
      for (let i = 0; i < 3; i++) assert.equal((await recordView(as.anonymous, video.id, `visibility-viewer-${i}`)).status, 200);
    });
    after(async () => {
      await t?.stop();
      removeClips();
    });

    const setVisibility = async (v: Visibility): Promise<void> => {
      const res = await updateVideo(as.owner, video.id, { visibility: v });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.visibility, v);
    };

    const trendingIds = async (): Promise<string[]> => (await getTrending(as.anonymous, '24h', 50)).body.items.map((i) => i.id);

    /** What each viewer must get, per route, for the current visibility. */
    async function checkMatrix(v: Visibility): Promise<void> {
      const sees = (who: Who): boolean => v !== 'private' || who === 'owner' || who === 'admin';
      const listed = v === 'public';
      for (const who of WHO) {
        const c = as[who];
        const label = `${v} as ${who}`;
        // video
        assert.equal((await getVideo(c, video.id)).status, sees(who) ? 200 : 404, `video: ${label}`);
        // playback + media
        const pb = await getPlayback(c, video.id);
        assert.equal(pb.status, sees(who) ? 200 : 404, `playback: ${label}`);
        if (pb.status === 200) {
          const master = await fetchText(pb.body.manifest_url);
          assert.equal(master.status, 200, `media: ${label}`);
          const media = playlistEntries(master.text, pb.body.manifest_url)[0];
          const mediaPl = await fetchText(media);
          assert.equal(mediaPl.status, 200, `media playlist: ${label}`);
          const segment = playlistEntries(mediaPl.text, media)[0];
          assert.equal((await fetch(segment)).status, 200, `segment: ${label}`);
          assert.equal(pb.body.manifest_url.includes('token='), v === 'private', `signed only when private: ${label}`);
        }
        // Without a token, a private video's media answer 403 to anyone.
        assert.equal((await fetchText(publicMaster)).status, v === 'private' ? 403 : 200, `unsigned media: ${label}`);
        // list: recent (listed only, whoever asks) and the owner's videos
        const recent = await listVideos(c, { sort: 'recent' });
        assert.equal(recent.status, 200);
        assert.equal(
          recent.body.items.some((x) => x.id === video.id),
          listed,
          `recent: ${label}`,
        );
        const byOwner = await listVideos(c, { owner: ownerId });
        assert.equal(
          byOwner.body.items.some((x) => x.id === video.id),
          listed || who === 'owner' || who === 'admin',
          `owner list: ${label}`,
        );
        // search: owners and admins find their own; others only public ones
        const found = (await search(c, 'zeppelin')).body.items.some((x) => x.id === video.id);
        assert.equal(found, listed || who === 'owner' || who === 'admin', `search: ${label}`);
        // feed (signed in; never one's own videos)
        if (who !== 'anonymous') {
          const feed = await getFeed(c, 50);
          assert.equal(feed.status, 200);
          assert.equal(
            feed.body.items.some((x) => x.id === video.id),
            listed && who !== 'owner',
            `feed: ${label}`,
          );
        }
        // channel
        const ch = await getChannel(c, ownerName);
        assert.equal(ch.status, 200);
        assert.equal(ch.body.video_count, listed ? 1 : 0, `channel: ${label}`);
      }
      // trending: one list for everyone
      if (listed) await waitFor('the video to trend', async () => (await trendingIds()).includes(video.id), 60_000, 50);
      else await waitFor('the video to leave trending', async () => !(await trendingIds()).includes(video.id), 60_000, 50);
    }

    it('public: listed and playable everywhere', async (ctx) => {
      if (skip) return ctx.skip(skip);
      assert.equal(video.visibility, 'public');
      await checkMatrix('public');
    });

    it('unlisted: plays for anyone with the id, listed nowhere', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await setVisibility('unlisted');
      await checkMatrix('unlisted');
    });

    it('private: owner and admin only (signed media); 404 for everyone else', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await setVisibility('private');
      await checkMatrix('private');
      // Engagement routes treat it as absent too.
      assert.equal((await recordView(as.other, video.id)).status, 404);
      assert.equal((await as.anonymous.get(`/api/v1/videos/${video.id}/engagement`)).status, 404);
    });

    it('public again: back everywhere at once', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await setVisibility('public');
      await checkMatrix('public');
    });

    it('edits title, description and tags like creation, owner or admin only', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const res = await updateVideo(as.owner, video.id, { title: '  Zeppelin   over the lake  ', description: ' calm evening \n', tags: ['travel', ' Travel ', 'sky'] });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.title, 'Zeppelin over the lake');
      assert.equal(res.body.description, 'calm evening');
      assert.deepEqual(res.body.tags, ['travel', 'sky']);
      assert.equal((await getVideo(as.anonymous, video.id)).body.title, 'Zeppelin over the lake');
      assert.equal((await updateVideo(as.admin, video.id, { title: 'Zeppelin (edited by admin)' })).status, 200);
      assert.equal((await updateVideo(as.other, video.id, { title: 'mine now' })).status, 403);
      assert.equal((await updateVideo(as.anonymous, video.id, { title: 'mine now' })).status, 401);
      assert.equal((await updateVideo(as.owner, '0190a0a0-0000-7000-8000-000000000000', { title: 'x' })).status, 404);
      const bad: Array<[Record<string, unknown>, string]> = [
        [{ visibility: 'secret' }, 'visibility'],
        [{ title: '   ' }, 'title'],
        [{ title: '' }, 'title'],
        [{ title: 'x'.repeat(201) }, 'title'],
        [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
        [{ owner_id: ownerId }, 'additional properties'],
      ];
      for (const [body, field] of bad) {
        const r = await as.owner.request<Problem>('PATCH', `/api/v1/videos/${video.id}`, body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.ok(JSON.stringify(r.body).includes(field), JSON.stringify(r.body));
      }
      assert.equal((await getVideo(as.owner, video.id)).body.title, 'Zeppelin (edited by admin)', 'a refused edit changes nothing');
      // video.updated is recorded with the change.
      const events = await t.nova.container.db.kysely.selectFrom('outbox').select(['payload']).where('event_type', '=', 'video.updated').where('event_key', '=', video.id).orderBy('seq').execute();
      assert.ok(events.length >= 5, String(events.length));
      const last = JSON.parse(events[events.length - 1].payload);
      assert.deepEqual(last.changed, ['title']);
      assert.equal(last.owner_id, ownerId);
    });

    it('creation cleans the title the same way', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const r = await as.owner.post<Problem>('/api/v1/videos', { title: ' \t ' });
      assert.equal(r.status, 400);
      assert.match(r.body.detail, /empty/);
      const ok = await as.owner.post<{ video: Video }>('/api/v1/videos', { title: ' Private draft ', visibility: 'private', tags: ['a'] });
      assert.equal(ok.status, 201);
      assert.equal(ok.body.video.title, 'Private draft');
      assert.equal(ok.body.video.visibility, 'private');
    });

    it('counts a view POSTed with no body at all', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const res = await fetch(`${t.url}/api/v1/videos/${video.id}/views`, { method: 'POST' });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { video_id: string }).video_id, video.id);
    });
  });
}

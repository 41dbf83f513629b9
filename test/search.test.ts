// Search over real HTTP on SQLite (FTS5) and Postgres (tsvector prefixes), with the same cases:
// prefixes, folded case and diacritics, words in any order, syntax characters taken literally,
// bounds on q/limit/cursor, edits reflected at once, never another's unlisted or private video;
// and `nova search reindex` rebuilding documents for videos written behind the service's back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { search } from '../src/client/channels.client.js';
import type { NovaClient, Problem } from '../src/client/nova-client.js';
import { updateVideo } from '../src/client/videos.client.js';
import { reindexSearch } from '../src/search/search.reindex.js';
import { startTestNovaOn, TEST_BACKENDS, type TestNova } from './helpers/nova.js';
import { insertReadyVideo } from './helpers/videos-db.js';

for (const backend of TEST_BACKENDS) {
  describe(`search (${backend})`, () => {
    let t: TestNova;
    let skip: string | false = false;
    let owner: NovaClient;
    let other: NovaClient;
    let admin: NovaClient;
    let ownerName: string;
    const ids: Record<string, string> = {};
    const titles = async (c: NovaClient, q: string): Promise<string[]> => {
      const res = await search(c, q);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.items.map((i) => i.title!);
    };

    before(async () => {
      const started = await startTestNovaOn(backend);
      if (typeof started === 'string') return void (skip = started);
      t = started;
      admin = (await t.client.newUser('admin')).client;
      const o = await t.client.newUser('maker');
      owner = o.client;
      ownerName = o.user.username;
      other = (await t.client.newUser('watcher')).client;
      ids.transcoding = await insertReadyVideo(t, o.user.id, 'Transcoding with FFmpeg', 3);
      ids.cafe = await insertReadyVideo(t, o.user.id, 'Un café à Paris', 2);
      ids.fox = await insertReadyVideo(t, o.user.id, 'The quick brown fox', 1);
      ids.hidden = await insertReadyVideo(t, o.user.id, 'Secret garden tour', 1);
      ids.shared = await insertReadyVideo(t, o.user.id, 'Secret recipe for friends', 1);
      // Written straight to the table: only a reindex makes them searchable.
      assert.deepEqual(await titles(other, 'transcoding'), []);
      const n = await reindexSearch(t.nova.container);
      assert.ok(n.videos >= 5);
      assert.equal((await updateVideo(owner, ids.hidden, { visibility: 'private' })).status, 200);
      assert.equal((await updateVideo(owner, ids.shared, { visibility: 'unlisted' })).status, 200);
    });
    after(async () => {
      await t?.stop();
    });

    it('finds by prefix, folded case and diacritics, and words in any order', async (ctx) => {
      if (skip) return ctx.skip(skip);
      assert.deepEqual(await titles(other, 'transc'), ['Transcoding with FFmpeg']);
      assert.deepEqual(await titles(other, 'TRANSCODING'), ['Transcoding with FFmpeg']);
      assert.deepEqual(await titles(other, 'cafe'), ['Un café à Paris']);
      assert.deepEqual(await titles(other, 'CAFÉ pari'), ['Un café à Paris']);
      assert.deepEqual(await titles(other, 'fox quick'), ['The quick brown fox']);
      assert.deepEqual(await titles(other, 'brown the'), ['The quick brown fox']);
      assert.deepEqual(await titles(other, 'fox paris'), [], 'every word must match');
      // The creator's name matches too.
      assert.equal((await titles(other, ownerName)).length, 3);
      const item = (await search(other, 'ffmpeg')).body.items[0];
      assert.equal(item.type, 'video');
      assert.equal(item.id, ids.transcoding);
      assert.equal(item.username, ownerName);
      assert.ok(item.score > 0);
    });

    it('takes syntax characters literally and bounds q, limit and cursor', async (ctx) => {
      if (skip) return ctx.skip(skip);
      for (const q of ['"', '*', 'OR', 'NEAR(', "'", '"fox', 'fox*', 'fox OR cafe', 'NEAR(fox brown)', "brown' fox", '-fox', 'fox AND', '(', ':*', '!&|']) {
        const res = await search(other, q);
        assert.equal(res.status, 200, `${q}: ${JSON.stringify(res.body)}`);
      }
      assert.deepEqual(await titles(other, '"fox'), ['The quick brown fox']);
      assert.deepEqual(await titles(other, 'fox*'), ['The quick brown fox']);
      assert.deepEqual(await titles(other, 'fox OR cafe'), [], 'OR is a word to match, not an operator');
      const bad: Array<[Record<string, string>, string]> = [
        [{ q: '' }, 'q'],
        [{ q: 'x'.repeat(201) }, 'q'],
        [{ q: 'fox', limit: '0' }, 'limit'],
        [{ q: 'fox', limit: '51' }, 'limit'],
        [{ q: 'fox', type: 'playlist' }, 'type'],
        [{ q: 'fox', cursor: 'bm90LWEtY3Vyc29y' }, 'cursor'],
      ];
      for (const [params, field] of bad) {
        const res = await other.get<Problem>(`/api/v1/search?${new URLSearchParams(params)}`);
        assert.equal(res.status, 400, JSON.stringify(params));
        assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.ok(res.body.detail, JSON.stringify(res.body));
        assert.ok(JSON.stringify(res.body).includes(field), JSON.stringify(res.body));
      }
      assert.equal((await search(other, 'x'.repeat(200))).status, 200);
    });

    it('pages with a cursor', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const first = await search(other, ownerName, { limit: 2 });
      assert.equal(first.body.items.length, 2);
      assert.ok(first.body.next_cursor);
      const second = await search(other, ownerName, { limit: 2, cursor: first.body.next_cursor! });
      assert.equal(second.body.items.length, 1);
      assert.equal(second.body.next_cursor, null);
      const all = [...first.body.items, ...second.body.items].map((i) => i.id);
      assert.equal(new Set(all).size, 3);
    });

    it('never shows an unlisted or private video to others; owners and admins find their own', async (ctx) => {
      if (skip) return ctx.skip(skip);
      for (const c of [other, t.client.as(null)]) {
        assert.deepEqual(await titles(c, 'secret'), []);
      }
      assert.deepEqual((await titles(owner, 'secret')).sort(), ['Secret garden tour', 'Secret recipe for friends']);
      assert.deepEqual((await titles(admin, 'secret')).sort(), ['Secret garden tour', 'Secret recipe for friends']);
      // A private video's poster needs a token: search does not hand one out.
      assert.ok((await search(owner, 'garden')).body.items.every((i) => i.thumbnail_url === null));
    });

    it('reflects an edit in the very next search', async (ctx) => {
      if (skip) return ctx.skip(skip);
      assert.equal((await updateVideo(owner, ids.fox, { title: 'The lazy dog', tags: ['Zoologie'] })).status, 200);
      assert.deepEqual(await titles(other, 'fox'), []);
      assert.deepEqual(await titles(other, 'lazy'), ['The lazy dog']);
      assert.deepEqual(await titles(other, 'zoolog'), ['The lazy dog'], 'tags match');
      assert.equal((await updateVideo(owner, ids.fox, { visibility: 'private' })).status, 200);
      assert.deepEqual(await titles(other, 'lazy'), []);
      assert.equal((await updateVideo(owner, ids.fox, { visibility: 'public' })).status, 200);
      assert.deepEqual(await titles(other, 'lazy'), ['The lazy dog']);
    });

    it('finds users by name prefix', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const res = await search(other, ownerName.slice(0, 4).toUpperCase(), { type: 'user' });
      assert.equal(res.status, 200);
      assert.ok(
        res.body.items.some((i) => i.type === 'user' && i.username === ownerName),
        JSON.stringify(res.body),
      );
      assert.equal((await search(other, '_', { type: 'user' })).body.items.length, 0, '_ is not a wildcard');
      assert.equal((await search(other, 'fox', { type: 'stream' })).status, 200);
    });
  });
}

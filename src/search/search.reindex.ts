// `nova search reindex`: rebuilds every search document from the owners' own records (videos,
// live streams now live, and their owners' names), a page of videos per transaction, for operators
// after a restore or an index change. Users need no documents: user search reads accounts.
import type { Container } from '../container.js';
import { EngagementRepository } from '../engagement/engagement.repository.js';
import { LiveRepository } from '../live/live.repository.js';
import { VideosRepository } from '../videos/videos.repository.js';
import { streamDocument, videoDocument } from './search.documents.js';
import { SearchRepository } from './search.repository.js';

const PAGE = 500;

export async function reindexSearch(c: Container): Promise<{ videos: number; streams: number }> {
  const search = new SearchRepository(c.db);
  const videos = new VideosRepository(c.db);
  const engagement = new EngagementRepository(c.db);
  const live = new LiveRepository(c.db);
  await c.db.kysely.transaction().execute((trx) => search.clear(trx, ['video', 'stream']));
  let videoCount = 0;
  for (let after: string | null = null; ;) {
    const page = await videos.page(after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    const names = await c.accounts.usernames(page.map((v) => v.owner_id));
    const popularity = await Promise.all(
      page.map(async (v) => {
        const s = await engagement.stats(v.id);
        return s.views + 3 * s.likes;
      }),
    );
    await c.db.kysely.transaction().execute(async (trx) => {
      for (const [i, v] of page.entries()) {
        await search.put(trx, videoDocument(v, names.get(v.owner_id) ?? ''));
        if (popularity[i]) await search.setPopularity(trx, v.id, popularity[i]);
      }
    });
    videoCount += page.length;
  }
  const streams = await live.list({ status: 'live', limit: 10_000 });
  await c.db.kysely.transaction().execute(async (trx) => {
    for (const s of streams) {
      await search.put(trx, streamDocument({ stream_id: s.id, creator_id: s.creator_id, title: s.title, timestamp: s.started_at ?? s.created_at }));
    }
  });
  return { videos: videoCount, streams: streams.length };
}

// Read-only questions other capabilities (the feed) ask about videos, so that only this
// capability writes SQL against the videos table.
import type { Db } from '../infra/db/database.js';
import './videos.repository.js';

/** What the feed keeps of a listed (ready and public) video. */
export interface ListedVideoFacts {
  id: string;
  owner_id: string;
  title: string;
  created_at: string;
  ready_at: string | null;
  duration_seconds: number | null;
}

const COLUMNS = ['id', 'owner_id', 'title', 'created_at', 'ready_at', 'duration_seconds'] as const;

/** The newest listed videos, at most `limit`. */
export async function newestListedVideos(db: Db, limit: number): Promise<ListedVideoFacts[]> {
  return db.kysely
    .selectFrom('videos')
    .select([...COLUMNS])
    .where('status', '=', 'ready')
    .where('visibility', '=', 'public')
    .where('hidden_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Of these videos, the ones listed now with their facts (a missing id is not listed). */
export async function listedVideos(db: Db, ids: string[]): Promise<ListedVideoFacts[]> {
  const out: ListedVideoFacts[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    out.push(
      ...(await db.kysely
        .selectFrom('videos')
        .select([...COLUMNS])
        .where('id', 'in', ids.slice(i, i + 500))
        .where('status', '=', 'ready')
        .where('visibility', '=', 'public')
        .where('hidden_at', 'is', null)
        .execute()),
    );
  }
  return out;
}

/** The owner of each of these videos, whatever its state. */
export async function videoOwners(db: Db, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.kysely
      .selectFrom('videos')
      .select(['id', 'owner_id'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.id, r.owner_id);
  }
  return out;
}

/** A ready video's facts as the feed's trainer reads them. */
export interface ReadyVideoFacts {
  id: string;
  owner_id: string;
  created_at: string;
  ready_at: string | null;
  duration_seconds: number | null;
}

/** The newest ready videos whatever their visibility, at most `limit` (the feed trainer's examples). */
export async function newestReadyVideos(db: Db, limit: number): Promise<ReadyVideoFacts[]> {
  return db.kysely.selectFrom('videos').select(['id', 'owner_id', 'created_at', 'ready_at', 'duration_seconds']).where('status', '=', 'ready').orderBy('created_at', 'desc').limit(limit).execute();
}

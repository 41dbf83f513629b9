// What trending reads from the database: the card of each ranked video (title, owner, thumbnail,
// views), and, for the in-process store after a restart, the engagement events it had already
// applied, from the outbox (kept OUTBOX_RETENTION_SECONDS, 7 days by default: the longest window).
import { sql } from 'kysely';
import type { Db } from '../infra/db/database.js';

export interface VideoCard {
  id: string;
  title: string;
  owner_id: string;
  owner_username: string;
  thumbnail_key: string | null;
  duration_seconds: number | null;
  view_count: number;
}

export class TrendingRepository {
  constructor(private readonly db: Db) {}

  /** Cards of the public ready videos among `ids` (deleted, unpublished, unlisted and private ones are left out). */
  async cards(ids: string[]): Promise<VideoCard[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.kysely
      .selectFrom('videos as v')
      .innerJoin('users as u', 'u.id', 'v.owner_id')
      .leftJoin('video_stats as s', 's.video_id', 'v.id')
      .select(['v.id', 'v.title', 'v.owner_id', 'u.username as owner_username', 'v.thumbnail_key', 'v.duration_seconds', sql<number>`coalesce(s.views, 0)`.as('view_count')])
      .where('v.id', 'in', ids)
      .where('v.status', '=', 'ready')
      .where('v.visibility', '=', 'public')
      .where('v.hidden_at', 'is', null)
      .execute();
    return rows.map((r) => ({ ...r, view_count: Number(r.view_count) }));
  }

  /** Payloads of engagement events since `sinceIso` that `consumer` processed, in publish order. */
  async processedEngagement(consumer: string, types: readonly string[], sinceIso: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; payload: string }>> {
    const rows = await this.db.kysely
      .selectFrom('outbox as o')
      .innerJoin('processed_events as p', (j) => j.onRef('p.event_id', '=', 'o.event_id').on('p.consumer', '=', consumer))
      .select(['o.seq', 'o.payload'])
      .where('o.event_type', 'in', [...types])
      .where('o.created_at', '>=', sinceIso)
      .where('o.seq', '>', afterSeq)
      .orderBy('o.seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), payload: r.payload }));
  }
}

// What trending reads: the card of each ranked video (title, owner, thumbnail, views), asked of
// videos, accounts and engagement, which own those tables; and, for the in-process store after a
// restart, the engagement events it had already applied, asked of events (the outbox keeps them
// OUTBOX_RETENTION_SECONDS, 7 days by default: the longest window).
import type { AccountsService } from '../accounts/accounts.service.js';
import type { EngagementRepository } from '../engagement/engagement.repository.js';
import { processedEventPayloads } from '../events/events.queries.js';
import type { Db } from '../infra/db/database.js';
import type { VideosRepository } from '../videos/videos.repository.js';

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
  constructor(
    private readonly db: Db,
    private readonly videos: Pick<VideosRepository, 'publicCards'>,
    private readonly accounts: Pick<AccountsService, 'usernames'>,
    private readonly engagement: Pick<EngagementRepository, 'viewCounts'>,
  ) {}

  /** Cards of the public ready videos among `ids` (deleted, unpublished, unlisted and private ones are left out). */
  async cards(ids: string[]): Promise<VideoCard[]> {
    const videos = await this.videos.publicCards(ids);
    if (videos.length === 0) return [];
    const owners = await this.accounts.usernames(videos.map((v) => v.owner_id));
    const views = await this.engagement.viewCounts(videos.map((v) => v.id));
    return videos.flatMap((v) => {
      const owner_username = owners.get(v.owner_id);
      return owner_username === undefined ? [] : [{ ...v, owner_username, view_count: views.get(v.id) ?? 0 }];
    });
  }

  /** Payloads of engagement events since `sinceIso` that `consumer` processed, in publish order. */
  processedEngagement(consumer: string, types: readonly string[], sinceIso: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; payload: string }>> {
    return processedEventPayloads(this.db, consumer, types, sinceIso, afterSeq, limit);
  }
}

// Channels: a user's public page (counts and their live stream when live), follows with their
// events, and the following feed (newest public videos and live streams of followed creators).
import type { AuthUser, AccountsService } from '../accounts/accounts.service.js';
import { appendEvent } from '../events/outbox.repository.js';
import { NotFoundError, ValidationError } from '../http/errors.js';
import type { Db } from '../infra/db/database.js';
import type { LiveService, LiveStream } from '../live/live.service.js';
import type { VideoRow } from '../videos/videos.repository.js';
import type { VideosService } from '../videos/videos.service.js';
import type { FollowsRepository } from './follows.repository.js';

/** A following feed looks at this many followed creators at most (the most recently followed). */
export const MAX_FEED_FOLLOWEES = 1000;

export interface Channel {
  id: string;
  username: string;
  created_at: string;
  video_count: number;
  follower_count: number;
  /** Whether the caller follows this user; null when signed out. */
  following: boolean | null;
  live_stream: LiveStream | null;
}

export class ChannelsService {
  constructor(
    private readonly db: Db,
    private readonly follows: FollowsRepository,
    private readonly accounts: AccountsService,
    private readonly videos: VideosService,
    private readonly live: LiveService,
    /** Told after a user's follows changed (the feed refreshes what it keeps of them). */
    private readonly followsChanged: (userId: string) => Promise<void> = async () => {},
  ) {}

  private async user(username: string): Promise<{ id: string; username: string; created_at: string }> {
    const u = await this.accounts.findPublic(username);
    if (!u) throw new NotFoundError(`No user ${username}.`);
    return u;
  }

  async channel(username: string, viewer: AuthUser | null): Promise<Channel> {
    const u = await this.user(username);
    const [videoCount, followerCount, following, live] = await Promise.all([
      this.videos.countListed(u.id),
      this.follows.followerCount(u.id),
      viewer ? this.follows.isFollowing(viewer.id, u.id) : Promise.resolve(null),
      this.live.list({ status: 'live', creatorId: u.id, limit: 1 }),
    ]);
    return { ...u, video_count: videoCount, follower_count: followerCount, following, live_stream: live.items[0] ?? null };
  }

  /** Idempotent: `user.followed` only when the follow is new. */
  async follow(viewer: AuthUser, username: string): Promise<void> {
    const u = await this.user(username);
    if (u.id === viewer.id) throw new ValidationError('You cannot follow yourself.', [{ field: 'username', message: 'is you' }]);
    const added = await this.db.kysely.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      if (!(await this.follows.add(trx, viewer.id, u.id, now))) return false;
      await appendEvent(trx, 'user.followed', u.id, { follower_id: viewer.id, followee_id: u.id, timestamp: now });
      return true;
    });
    if (added) await this.followsChanged(viewer.id);
  }

  /** Idempotent: `user.unfollowed` only when there was a follow. */
  async unfollow(viewer: AuthUser, username: string): Promise<void> {
    const u = await this.user(username);
    const removed = await this.db.kysely.transaction().execute(async (trx) => {
      if (!(await this.follows.remove(trx, viewer.id, u.id))) return false;
      await appendEvent(trx, 'user.unfollowed', u.id, { follower_id: viewer.id, followee_id: u.id, timestamp: new Date().toISOString() });
      return true;
    });
    if (removed) await this.followsChanged(viewer.id);
  }

  async following(viewer: AuthUser, limit: number, before?: { at: string; id: string }) {
    const rows = await this.follows.following(viewer.id, limit + 1, before);
    const page = rows.slice(0, limit);
    const names = await this.accounts.usernames(page.map((r) => r.followee_id));
    return {
      items: page.map((r) => ({ id: r.followee_id, username: names.get(r.followee_id) ?? '', followed_at: r.created_at })),
      next: rows.length > limit ? { at: page[page.length - 1].created_at, id: page[page.length - 1].followee_id } : null,
    };
  }

  /** Creators the user follows (the most recent MAX_FEED_FOLLOWEES), whose videos the following feed lists. */
  followeeIds(userId: string): Promise<string[]> {
    return this.follows.followeeIds(userId, MAX_FEED_FOLLOWEES);
  }

  async followingFeed(viewer: AuthUser, limit: number, cursor?: string): Promise<{ live: LiveStream[]; items: VideoRow[]; nextCursor: string | null; usernames: Map<string, string> }> {
    const ids = await this.followeeIds(viewer.id);
    const followed = new Set(ids);
    const page = await this.videos.listedByOwners(ids, cursor, limit);
    // Live streams only head the first page.
    const live = cursor || ids.length === 0 ? [] : (await this.live.list({ status: 'live', limit: 100 })).items.filter((s) => followed.has(s.creator_id));
    const usernames = await this.accounts.usernames([...page.items.map((v) => v.owner_id), ...live.map((s) => s.creator_id)]);
    return { live, items: page.items, nextCursor: page.nextCursor, usernames };
  }
}

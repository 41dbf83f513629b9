// Read-only questions other capabilities (the feed, its trainer) ask about follows, so that only
// this capability writes SQL against the follows table. Plain functions of the database: the
// composition root builds them before the capabilities that read them, and before channels itself.
import type { Db } from '../infra/db/database.js';
import { MAX_FEED_FOLLOWEES } from './channels.service.js';
import { FollowsRepository } from './follows.repository.js';

/** Creators a user follows (the most recent MAX_FEED_FOLLOWEES): a feature and a candidate source of the ranked feed. */
export function followeeIds(db: Db, userId: string): Promise<string[]> {
  return new FollowsRepository(db).followeeIds(userId, MAX_FEED_FOLLOWEES);
}

/** Follow pairs, most recent first, at most `max` (the feed model's training data and offline evaluation). */
export function followPairs(db: Db, max: number): Promise<Array<{ follower_id: string; followee_id: string }>> {
  return new FollowsRepository(db).pairs(max);
}

// The follows table: who follows whom. No product rules here (see channels.service); writes take
// the caller's transaction so their events commit with them.
import { sql } from 'kysely';
import type { Db, Executor } from '../infra/db/database.js';

export interface FollowTable {
  follower_id: string;
  followee_id: string;
  created_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    follows: FollowTable;
  }
}

export class FollowsRepository {
  constructor(private readonly db: Db) {}

  get kysely() {
    return this.db.kysely;
  }

  /** True when the follow is new. */
  async add(trx: Executor, followerId: string, followeeId: string, now: string): Promise<boolean> {
    const r = await trx
      .insertInto('follows')
      .values({ follower_id: followerId, followee_id: followeeId, created_at: now })
      .onConflict((oc) => oc.columns(['follower_id', 'followee_id']).doNothing())
      .returning('follower_id')
      .executeTakeFirst();
    return r !== undefined;
  }

  /** True when there was a follow to remove. */
  async remove(trx: Executor, followerId: string, followeeId: string): Promise<boolean> {
    const r = await trx.deleteFrom('follows').where('follower_id', '=', followerId).where('followee_id', '=', followeeId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async isFollowing(followerId: string, followeeId: string): Promise<boolean> {
    const r = await this.db.kysely.selectFrom('follows').select('followee_id').where('follower_id', '=', followerId).where('followee_id', '=', followeeId).executeTakeFirst();
    return r !== undefined;
  }

  async followerCount(followeeId: string): Promise<number> {
    const r = await this.db.kysely
      .selectFrom('follows')
      .select(sql<number>`count(*)`.as('n'))
      .where('followee_id', '=', followeeId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Whom a user follows, most recent follow first; `before` is the (created_at, id) of the last row seen. */
  async following(followerId: string, limit: number, before?: { at: string; id: string }): Promise<FollowTable[]> {
    let q = this.db.kysely.selectFrom('follows').selectAll().where('follower_id', '=', followerId);
    if (before) {
      q = q.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('followee_id', '<', before.id)])]));
    }
    return q.orderBy('created_at', 'desc').orderBy('followee_id', 'desc').limit(limit).execute();
  }

  /** Every creator a user follows (at most `max`, the most recent follows). */
  async followeeIds(followerId: string, max: number): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('follows').select('followee_id').where('follower_id', '=', followerId).orderBy('created_at', 'desc').limit(max).execute();
    return rows.map((r) => r.followee_id);
  }

  /** Follow pairs, most recent first, at most `max` (training data of the feed model). */
  async pairs(max: number): Promise<Array<{ follower_id: string; followee_id: string }>> {
    return this.db.kysely.selectFrom('follows').select(['follower_id', 'followee_id']).orderBy('created_at', 'desc').limit(max).execute();
  }
}

// The moderation log: what an admin hid, showed again or deleted, and why. Only this capability
// writes it; the videos and streams themselves change through their owners' services.
import type { Selectable } from 'kysely';
import type { Db } from '../infra/db/database.js';

export interface ModerationLogTable {
  id: string;
  target_type: 'video' | 'stream';
  target_id: string;
  /** The title when the action was taken: a deleted target keeps a readable entry. */
  target_title: string;
  target_owner_id: string;
  action: 'hide' | 'unhide' | 'delete';
  reason: string;
  moderator_id: string;
  created_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    moderation_log: ModerationLogTable;
  }
}

export type ModerationEntry = Selectable<ModerationLogTable>;

export class ModerationRepository {
  constructor(private readonly db: Db) {}

  async insert(row: ModerationEntry): Promise<void> {
    await this.db.kysely.insertInto('moderation_log').values(row).execute();
  }

  /** Newest first; `beforeId` pages (ids are time-ordered uuid v7). */
  async list(f: { targetType?: 'video' | 'stream'; targetId?: string; beforeId?: string; limit: number }): Promise<ModerationEntry[]> {
    let q = this.db.kysely.selectFrom('moderation_log').selectAll();
    if (f.targetType) q = q.where('target_type', '=', f.targetType);
    if (f.targetId) q = q.where('target_id', '=', f.targetId);
    if (f.beforeId) q = q.where('id', '<', f.beforeId);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  }
}

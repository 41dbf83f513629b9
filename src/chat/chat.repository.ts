// Chat messages, bans and settings in the database, and the outbox rows that go with them.
// No product rules here: see chat.service.
import { appendEvent } from '../events/outbox.repository.js';
import type { Db } from '../infra/db/database.js';
import type { ChatMessage } from './chat.types.js';

export interface ChatMessageTable extends ChatMessage {
  hidden_at: string | null;
  hidden_by: string | null;
}

export interface ChatBanTable {
  stream_id: string;
  user_id: string;
  banned_by: string;
  created_at: string;
}

export interface ChatSettingsTable {
  stream_id: string;
  slow_mode_seconds: number;
  updated_by: string;
  updated_at: string;
}

declare module '../infra/db/schema.js' {
  interface Tables {
    chat_messages: ChatMessageTable;
    chat_bans: ChatBanTable;
    chat_settings: ChatSettingsTable;
  }
}

const MESSAGE_COLUMNS = ['comment_id', 'stream_id', 'user_id', 'username', 'message', 'created_at'] as const;

export class ChatRepository {
  constructor(private readonly db: Db) {}

  /** Stores a batch of messages of one stream and their `chat.message` events in one transaction. */
  async insertMessages(streamId: string, messages: ChatMessage[]): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      await trx
        .insertInto('chat_messages')
        .values(messages.map((m) => ({ ...m, hidden_at: null, hidden_by: null })))
        .execute();
      for (const m of messages) await appendEvent(trx, 'chat.message', streamId, m);
    });
  }

  /** Visible messages, newest last: the last `limit` of them, or those before `before`. */
  async visible(streamId: string, limit: number, before?: string): Promise<ChatMessage[]> {
    let q = this.db.kysely.selectFrom('chat_messages').select(MESSAGE_COLUMNS).where('stream_id', '=', streamId).where('hidden_at', 'is', null);
    if (before) q = q.where('comment_id', '<', before);
    const rows = await q.orderBy('comment_id', 'desc').limit(limit).execute();
    return rows.reverse();
  }

  /**
   * Messages of a stream sent in [fromIso, toIso), oldest first, for replay beside a recording:
   * without hidden (deleted) messages and without those of users banned from the stream.
   */
  async replay(streamId: string, fromIso: string, toIso: string, limit: number): Promise<ChatMessage[]> {
    return this.db.kysely
      .selectFrom('chat_messages')
      .select(MESSAGE_COLUMNS)
      .where('stream_id', '=', streamId)
      .where('hidden_at', 'is', null)
      .where('created_at', '>=', fromIso)
      .where('created_at', '<', toIso)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('chat_bans').select('chat_bans.user_id').where('chat_bans.stream_id', '=', streamId).whereRef('chat_bans.user_id', '=', 'chat_messages.user_id'))),
      )
      .orderBy('created_at')
      .orderBy('comment_id')
      .limit(limit)
      .execute();
  }

  /** How many visible messages each of `streamIds` received after `sinceIso` (trending's live list); absent ids have none. */
  async visibleCountsSince(streamIds: string[], sinceIso: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    // In slices, so that many live streams stay within the dialects' bound-parameter limits.
    for (let i = 0; i < streamIds.length; i += 500) {
      const rows = await this.db.kysely
        .selectFrom('chat_messages')
        .select(['stream_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('stream_id', 'in', streamIds.slice(i, i + 500))
        .where('created_at', '>', sinceIso)
        .where('hidden_at', 'is', null)
        .groupBy('stream_id')
        .execute();
      for (const r of rows) counts.set(r.stream_id, Number(r.n));
    }
    return counts;
  }

  async findMessage(streamId: string, commentId: string): Promise<ChatMessageTable | undefined> {
    return this.db.kysely.selectFrom('chat_messages').selectAll().where('stream_id', '=', streamId).where('comment_id', '=', commentId).executeTakeFirst();
  }

  /** Hides a visible message and records `chat.deleted`; false when it was already hidden. */
  async hideMessage(streamId: string, commentId: string, by: string, now: string): Promise<boolean> {
    return this.db.kysely.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('chat_messages')
        .set({ hidden_at: now, hidden_by: by })
        .where('stream_id', '=', streamId)
        .where('comment_id', '=', commentId)
        .where('hidden_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await appendEvent(trx, 'chat.deleted', streamId, { stream_id: streamId, comment_id: commentId, timestamp: now });
      return true;
    });
  }

  async bans(streamId: string): Promise<ChatBanTable[]> {
    return this.db.kysely.selectFrom('chat_bans').selectAll().where('stream_id', '=', streamId).orderBy('created_at').execute();
  }

  async findBan(streamId: string, userId: string): Promise<ChatBanTable | undefined> {
    return this.db.kysely.selectFrom('chat_bans').selectAll().where('stream_id', '=', streamId).where('user_id', '=', userId).executeTakeFirst();
  }

  /** Inserts the ban unless one exists; returns the ban in force and whether it is new. */
  async insertBan(ban: ChatBanTable): Promise<{ ban: ChatBanTable; created: boolean }> {
    const res = await this.db.kysely
      .insertInto('chat_bans')
      .values(ban)
      .onConflict((oc) => oc.columns(['stream_id', 'user_id']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) > 0) return { ban, created: true };
    const existing = await this.findBan(ban.stream_id, ban.user_id);
    return { ban: existing ?? ban, created: false };
  }

  async deleteBan(streamId: string, userId: string): Promise<boolean> {
    const res = await this.db.kysely.deleteFrom('chat_bans').where('stream_id', '=', streamId).where('user_id', '=', userId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async settings(streamId: string): Promise<ChatSettingsTable | undefined> {
    return this.db.kysely.selectFrom('chat_settings').selectAll().where('stream_id', '=', streamId).executeTakeFirst();
  }

  async putSettings(row: ChatSettingsTable): Promise<void> {
    await this.db.kysely
      .insertInto('chat_settings')
      .values(row)
      .onConflict((oc) => oc.column('stream_id').doUpdateSet({ slow_mode_seconds: row.slow_mode_seconds, updated_by: row.updated_by, updated_at: row.updated_at }))
      .execute();
  }
}

// Live chat over HTTP: history pages and moderation (delete, ban, unban, slow mode). Each change is
// stored first (with its outbox event where the contract has one) and then announced through the
// relay, so the rooms on every process apply it. Only the stream's creator or an admin moderates.
import type { AuthUser } from '../accounts/accounts.service.js';
import type { ChatConfig } from '../config.js';
import { ForbiddenError, NotFoundError, UnprocessableError, ValidationError } from '../http/errors.js';
import type { Logger } from '../infra/logger.js';
import { isModerator } from './chat.gateway.js';
import type { ChatRelay, RelayEvent } from './chat.relay.js';
import type { ChatBanTable, ChatRepository } from './chat.repository.js';
import type { ChatMessage, ChatStream, ChatStreamsPort } from './chat.types.js';

export interface ChatSettings {
  stream_id: string;
  slow_mode_seconds: number;
}

export interface ChatServiceDeps {
  repo: ChatRepository;
  relay: ChatRelay;
  streams: ChatStreamsPort;
  users: { getUser(id: string): Promise<AuthUser | null> };
  config: ChatConfig;
  logger: Logger;
}

export class ChatService {
  constructor(private readonly d: ChatServiceDeps) {}

  async requireStream(streamId: string): Promise<ChatStream> {
    const stream = await this.d.streams.getStream(streamId);
    if (!stream) throw new NotFoundError(`No stream with id ${streamId}.`);
    return stream;
  }

  private async requireModerator(actor: AuthUser, streamId: string): Promise<ChatStream> {
    const stream = await this.requireStream(streamId);
    if (!isModerator(actor, stream.creator_id)) throw new ForbiddenError("Only the stream's creator or an admin can moderate its chat.");
    return stream;
  }

  /** Announces a change to every process; it is already stored, so a relay failure is only logged. */
  private async announce(streamId: string, event: RelayEvent): Promise<void> {
    await this.d.relay.publish(streamId, event).catch((err) => this.d.logger.warn({ err, stream_id: streamId }, 'chat announce failed'));
  }

  /** Visible messages, newest last: the latest page, or the page before `before`. */
  async history(streamId: string, limit: number, before?: string): Promise<ChatMessage[]> {
    await this.requireStream(streamId);
    if (!before) {
      const cached = await this.d.relay.recent(streamId, limit).catch(() => null);
      if (cached) return cached;
    }
    return this.d.repo.visible(streamId, limit, before);
  }

  async deleteMessage(actor: AuthUser, streamId: string, commentId: string): Promise<void> {
    await this.requireModerator(actor, streamId);
    const msg = await this.d.repo.findMessage(streamId, commentId);
    if (!msg) throw new NotFoundError(`No message ${commentId} in this stream's chat.`);
    if (await this.d.repo.hideMessage(streamId, commentId, actor.id, new Date().toISOString())) {
      await this.announce(streamId, { t: 'deleted', comment_id: commentId });
    }
  }

  async bans(actor: AuthUser, streamId: string): Promise<ChatBanTable[]> {
    await this.requireModerator(actor, streamId);
    return this.d.repo.bans(streamId);
  }

  async ban(actor: AuthUser, streamId: string, userId: string): Promise<{ ban: ChatBanTable; created: boolean }> {
    const stream = await this.requireModerator(actor, streamId);
    const target = await this.d.users.getUser(userId);
    if (!target) throw new UnprocessableError(`No user with id ${userId}.`, [{ field: 'user_id', message: 'is not a user' }]);
    if (isModerator(target, stream.creator_id)) throw new UnprocessableError("The stream's creator and admins moderate this chat and cannot be banned from it.");
    const result = await this.d.repo.insertBan({ stream_id: streamId, user_id: userId, banned_by: actor.id, created_at: new Date().toISOString() });
    if (result.created) await this.announce(streamId, { t: 'banned', user_id: userId });
    return result;
  }

  async unban(actor: AuthUser, streamId: string, userId: string): Promise<void> {
    await this.requireModerator(actor, streamId);
    if (!(await this.d.repo.deleteBan(streamId, userId))) throw new NotFoundError(`User ${userId} is not banned from this chat.`);
    await this.announce(streamId, { t: 'unbanned', user_id: userId });
  }

  async settings(streamId: string): Promise<ChatSettings> {
    await this.requireStream(streamId);
    const row = await this.d.repo.settings(streamId);
    return { stream_id: streamId, slow_mode_seconds: row?.slow_mode_seconds ?? 0 };
  }

  async putSettings(actor: AuthUser, streamId: string, slowModeSeconds: number): Promise<ChatSettings> {
    await this.requireModerator(actor, streamId);
    const max = this.d.config.maxSlowModeSeconds;
    if (slowModeSeconds > max) {
      throw new ValidationError(`slow_mode_seconds must be between 0 (off) and ${max}.`, [{ field: 'slow_mode_seconds', message: `must be <= ${max}` }]);
    }
    await this.d.repo.putSettings({ stream_id: streamId, slow_mode_seconds: slowModeSeconds, updated_by: actor.id, updated_at: new Date().toISOString() });
    await this.announce(streamId, { t: 'settings', slow_mode_seconds: slowModeSeconds });
    return { stream_id: streamId, slow_mode_seconds: slowModeSeconds };
  }

  /** Tells every process's sockets of the stream that it ended. */
  async streamEnded(streamId: string): Promise<void> {
    await this.announce(streamId, { t: 'closed' });
  }
}

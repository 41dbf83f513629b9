// Content moderation: an admin hides, shows again or deletes any video, or deletes (ends and
// disables) any stream, always with a reason. The change goes through the owning capability's
// service (videos, live); the log entry is written once the change took effect.
import { v7 as uuidv7 } from 'uuid';
import type { AuthUser } from '../accounts/accounts.service.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../http/errors.js';
import { cleanMultiline } from '../shared/text.js';
import type { VideosService } from '../videos/videos.service.js';
import type { LiveService } from '../live/live.service.js';
import { ModerationRepository, type ModerationEntry } from './moderation.repository.js';

export interface ModerationRequest {
  target_type: 'video' | 'stream';
  target_id: string;
  action: 'hide' | 'unhide' | 'delete';
  reason: string;
}

export class ModerationService {
  constructor(
    private readonly repo: ModerationRepository,
    private readonly videos: VideosService,
    private readonly live: LiveService,
  ) {}

  async act(moderator: AuthUser, req: ModerationRequest): Promise<ModerationEntry> {
    if (moderator.role !== 'admin') throw new ForbiddenError('Only an admin can moderate content.');
    const reason = cleanMultiline(req.reason);
    if (!reason) throw new ValidationError('Give a reason: it is kept in the moderation log.', [{ field: 'reason', message: 'must not be empty' }]);
    let title: string;
    let ownerId: string;
    if (req.target_type === 'video') {
      const videos = this.videos;
      const v = await videos.repo.findById(req.target_id);
      if (!v) throw new NotFoundError(`No video ${req.target_id}.`);
      title = v.title;
      ownerId = v.owner_id;
      if (req.action === 'hide') {
        if (v.hidden_at) throw new ConflictError('This video is already hidden.');
        await videos.setHidden(v.id, reason);
      } else if (req.action === 'unhide') {
        if (!v.hidden_at) throw new ConflictError('This video is not hidden.');
        await videos.setHidden(v.id, null);
      } else {
        await videos.delete(v.id, moderator);
      }
    } else {
      const s = await this.live.getStream(req.target_id);
      if (!s) throw new NotFoundError(`No stream ${req.target_id}.`);
      if (req.action !== 'delete') {
        throw new ValidationError('A stream can only be deleted (its broadcast ends and its key is refused for good); hide its recording instead.', [
          { field: 'action', message: 'must be delete for a stream' },
        ]);
      }
      title = s.title;
      ownerId = s.creator_id;
      await this.live.disable(s.id, moderator);
    }
    const entry: ModerationEntry = {
      id: uuidv7(),
      target_type: req.target_type,
      target_id: req.target_id,
      target_title: title,
      target_owner_id: ownerId,
      action: req.action,
      reason,
      moderator_id: moderator.id,
      created_at: new Date().toISOString(),
    };
    await this.repo.insert(entry);
    return entry;
  }

  async list(f: { targetType?: 'video' | 'stream'; targetId?: string; beforeId?: string; limit: number }): Promise<ModerationEntry[]> {
    return this.repo.list(f);
  }
}

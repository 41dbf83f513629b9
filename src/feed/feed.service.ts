// The personalised feed: candidates (followed creators' recent videos, recent and popular public
// ready videos the user has not watched and did not make), taken with their features from the
// maintained read model (feed.state) → one tensor → one batched call to the serving ranker → ranked list. When no model
// can rank (not served, wrong signature, failing), the feed falls back to trending order and says
// so. Which model and version rank a request is decided by the selector the service is built with,
// so an experiment can route users to a variant.
import type { AuthUser } from '../accounts/accounts.service.js';
import type { FeedConfig } from '../config.js';
import { ValidationError } from '../http/errors.js';
import type { Logger } from '../infra/logger.js';
import type { ModelService } from '../models/models.service.js';
import { isDynamic } from '../models/models.signature.js';
import { FEATURE_COUNT, trendingScore, writeFeatures, type VideoFacts } from './feed.features.js';
import type { FeedState, PoolVideo, Viewer } from './feed.state.js';

export interface FeedModelChoice {
  model: string;
  /** A specific version; the serving one when omitted. */
  version?: number;
  /** Reported back in the response when an experiment made the choice. */
  experiment?: string;
  variant?: string;
}

export type FeedModelSelector = (user: AuthUser) => FeedModelChoice | null | undefined | Promise<FeedModelChoice | null | undefined>;

export interface FeedItem {
  id: string;
  title: string;
  owner_id: string;
  created_at: string;
  duration_seconds: number | null;
  views: number;
  likes: number;
  score: number;
  reason: FeedReason;
}

/** Why an item is in the feed, the first that applies, in this order. */
export type FeedReason = 'followed' | 'similar_to_liked' | 'trending' | 'new' | 'popular';

/** Published this recently counts as new. */
const NEW_HOURS = 48;

export interface FeedResult {
  items: FeedItem[];
  model: string;
  model_version: number | null;
  ranking: 'model' | 'fallback';
  experiment?: string;
  variant?: string;
}

/**
 * How long a viewer's ranked list is reused while their activity is unchanged: 5 s at most. From a
 * point drawn per list between 3.75 and 5 s, a request still gets it while the next one is ranked
 * in the background, so viewers' lists made together (a restart, a burst of sign-ins) are not all
 * re-ranked together, and a busy viewer's request does not wait for a ranking that only time made due.
 */
const CACHE_MS = 5_000;
const CACHE_JITTER = 0.25;
/** How long a session can page through one list, and how many lists are kept in all. */
const SNAPSHOT_MS = 10 * 60_000;
const MAX_SNAPSHOTS = 10_000;
/** A list holds this many pages of the largest size. */
const PAGES = 5;

/**
 * A ranked list as kept for its session: the videos in order with their scores and reasons in
 * parallel arrays, items being built only for the page asked for. Thousands of lists can be alive
 * (one per viewer every few seconds, each kept for its cursors), so they hold no object per item.
 */
type RankedList = Omit<FeedResult, 'items'> & { videos: PoolVideo[]; scores: Float64Array; reasons: FeedReason[] };
type Snapshot = RankedList & { id: string; userId: string; stamp: string; at: number; reuseMs: number; bodies?: Map<string, Buffer> };

export class FeedService {
  private readonly selector: FeedModelSelector;

  constructor(
    private readonly state: FeedState,
    private readonly models: ModelService,
    private readonly opts: FeedConfig,
    private readonly logger: Logger,
    /** Chooses the ranking model per request (the running A/B experiment); the default model when absent. */
    selector?: FeedModelSelector,
  ) {
    this.selector = selector ?? (() => ({ model: opts.model }));
  }

  private async choose(user: AuthUser): Promise<FeedModelChoice> {
    try {
      return (await this.selector(user)) ?? { model: this.opts.model };
    } catch (err) {
      this.logger.warn({ err, user_id: user.id }, 'feed model selector failed; using the default model');
      return { model: this.opts.model };
    }
  }

  /** Why the model cannot rank feed features, or null when it can. */
  private unfit(model: string): string | null {
    const sig = this.models.signature(model);
    if (!sig) return 'not served';
    if (sig.inputs.length !== 1 || sig.outputs.length < 1) return 'expects one input';
    const [input] = sig.inputs;
    const [output] = sig.outputs;
    const shapeOk = input.type === 'float32' && input.shape.length === 2 && isDynamic(input.shape[0]) && input.shape[1] === FEATURE_COUNT;
    if (!shapeOk) return `input must be float32 [batch, ${FEATURE_COUNT}]`;
    if (output.type !== 'float32' || !isDynamic(output.shape[0] ?? 0)) return 'output must be float32 [batch, …]';
    return null;
  }

  /**
   * The ranked list is kept per viewer for a few seconds and reused while the viewer's own
   * activity (likes, watch reports, follows) is unchanged, so a like shows up in the next feed.
   * A cursor names the list a session started with, so its pages never repeat an item.
   */
  async feed(user: AuthUser, limit: number, cursor?: string): Promise<FeedResult & { next_cursor: string | null }> {
    const { list, offset } = await this.list(user, cursor);
    return this.pageOf(list, offset, limit);
  }

  /** The list a request pages through: the cursor's, the viewer's cached one, or a new ranking. */
  private async list(user: AuthUser, cursor?: string): Promise<{ list: Snapshot; offset: number }> {
    if (cursor) {
      const m = /^([0-9a-z]{1,20})\.(\d{1,6})$/.exec(cursor);
      const list = m ? this.snapshots.get(m[1]) : undefined;
      // A list from before a restart (or too old) cannot continue; say so rather than repeat items.
      if (!m || !list || list.userId !== user.id || Date.now() - list.at > SNAPSHOT_MS)
        throw new ValidationError('The cursor is unknown or has expired; start again without it.', [{ field: 'cursor', message: 'is invalid or expired' }]);
      return { list, offset: Number(m[2]) };
    }
    // A different model choice (a selector, an experiment) or a reload is a different list too.
    const choice = await this.choose(user);
    await this.state.ready();
    const viewer = await this.state.viewer(user.id);
    const stamp = [viewer.stamp, this.state.version, choice.model, choice.version ?? this.models.version(choice.model), choice.experiment, choice.variant].join('|');
    const cached = this.latest.get(user.id);
    if (cached && cached.stamp === stamp && this.snapshots.has(cached.id)) {
      const age = Date.now() - cached.at;
      if (age < cached.reuseMs) return { list: cached, offset: 0 };
      if (age < CACHE_MS) {
        if (!this.refreshing.has(user.id)) {
          this.refreshing.add(user.id);
          this.store(user, viewer, choice, stamp, cached)
            .catch((err: unknown) => this.logger.warn({ err, user_id: user.id }, 'feed: ranking the next list failed; the next request ranks it'))
            .finally(() => this.refreshing.delete(user.id));
        }
        return { list: cached, offset: 0 };
      }
    }
    return { list: await this.store(user, viewer, choice, stamp), offset: 0 };
  }

  /**
   * Ranks and keeps a new list for the viewer. A list ranked in the background (`replaces` given)
   * becomes the viewer's only if nothing replaced that one meanwhile (an action, another ranking).
   */
  private async store(user: AuthUser, viewer: Viewer, choice: FeedModelChoice, stamp: string, replaces?: Snapshot): Promise<Snapshot> {
    const ranked = await this.rank(user, viewer, this.opts.maxLimit * PAGES, choice);
    const list: Snapshot = {
      ...ranked,
      id: (++this.seq).toString(36) + Math.random().toString(36).slice(2, 8),
      userId: user.id,
      stamp,
      at: Date.now(),
      reuseMs: CACHE_MS * (1 - CACHE_JITTER * Math.random()),
    };
    if (replaces && this.latest.get(user.id) !== replaces) return list;
    this.latest.set(user.id, list);
    this.snapshots.set(list.id, list);
    for (const [id, old] of this.snapshots) {
      if (this.snapshots.size <= MAX_SNAPSHOTS && Date.now() - old.at <= SNAPSHOT_MS) break;
      this.snapshots.delete(id);
      if (this.latest.get(old.userId)?.id === id) this.latest.delete(old.userId);
    }
    return list;
  }

  /** One page of a list; a video made unlisted, private or deleted since the list was ranked leaves it at once. */
  private pageOf(list: Snapshot, offset: number, limit: number): FeedResult & { next_cursor: string | null } {
    const { videos, scores, reasons, id, userId: _u, stamp: _s, at: _a, reuseMs: _r, bodies: _b, ...meta } = list;
    const end = offset + limit;
    const items: FeedItem[] = [];
    for (let i = offset; i < Math.min(end, videos.length); i++) {
      const c = videos[i];
      if (!this.state.isListed(c.id)) continue;
      items.push({
        id: c.id,
        title: c.title,
        owner_id: c.owner_id,
        created_at: c.created_at,
        duration_seconds: c.duration_seconds,
        views: c.views,
        likes: c.likes,
        score: scores[i],
        reason: reasons[i],
      });
    }
    return { ...meta, items, next_cursor: end < videos.length ? `${id}.${end}` : null };
  }

  /**
   * The page as UTF-8 JSON bytes: a page of a cached list is serialized once and then sent as is (the
   * same fields, in the same order, as the response schema), while every item on it is still
   * listed (checked against the read model, which edits, hides and deletions update as they commit).
   */
  async feedBody(user: AuthUser, limit: number, cursor?: string): Promise<Buffer> {
    const { list, offset } = await this.list(user, cursor);
    const end = Math.min(offset + limit, list.videos.length);
    for (let i = offset; i < end; i++) {
      if (!this.state.isListed(list.videos[i].id)) return Buffer.from(JSON.stringify(this.pageOf(list, offset, limit)));
    }
    const key = `${offset}.${limit}`;
    list.bodies ??= new Map();
    let body = list.bodies.get(key);
    if (body === undefined) {
      // Kept as bytes: each request that reuses it then skips measuring and encoding the string.
      body = Buffer.from(JSON.stringify(this.pageOf(list, offset, limit)));
      list.bodies.set(key, body);
    }
    return body;
  }

  private readonly latest = new Map<string, Snapshot>();
  /** Ranked lists by id, oldest first (Map order), for cursors. */
  private readonly snapshots = new Map<string, Snapshot>();
  /** Viewers whose next list is being ranked in the background. */
  private readonly refreshing = new Set<string>();
  private seq = 0;

  /**
   * Recent videos plus the most engaged-with ones, de-duplicated, at most `limit`, none the viewer
   * made or already saw; the recent videos of followed creators come first, so a follow always
   * brings its creator's new videos in.
   */
  private candidates(userId: string, viewer: Viewer, sinceIso: string, limit: number): PoolVideo[] {
    const { recent, popular } = this.state.sorted();
    const ok = (v: PoolVideo): boolean => v.owner_id !== userId && !viewer.seen.has(v.id);
    const take = (from: PoolVideo[], n: number, pass: (v: PoolVideo) => boolean): PoolVideo[] => {
      const out: PoolVideo[] = [];
      for (const v of from) {
        if (out.length >= n) break;
        if (pass(v)) out.push(v);
      }
      return out;
    };
    const followed = viewer.followed.size ? take(recent, Math.ceil(limit / 4), (v) => viewer.followed.has(v.owner_id) && v.created_at >= sinceIso && ok(v)) : [];
    const rest = limit - followed.length;
    const half = Math.max(1, Math.ceil(rest / 2));
    const fresh = take(recent, limit, (v) => v.created_at >= sinceIso && ok(v));
    const engaged = take(popular, half, ok);
    const out = new Map<string, PoolVideo>();
    for (const r of followed) out.set(r.id, r);
    // Keep room for the popular half when there are more recent videos than the budget.
    for (const r of fresh.slice(0, Math.max(rest - engaged.length, half))) if (out.size < limit) out.set(r.id, r);
    for (const r of engaged) if (out.size < limit) out.set(r.id, r);
    for (const r of fresh) if (out.size < limit) out.set(r.id, r);
    return [...out.values()];
  }

  private async rank(user: AuthUser, viewer: Viewer, limit: number, choice: FeedModelChoice): Promise<RankedList> {
    const now = Date.now();
    const since = new Date(now - this.opts.candidateDays * 86_400_000).toISOString();
    const candidates = this.candidates(user.id, viewer, since, this.opts.maxCandidates);
    const base = { model: choice.model, ...(choice.experiment ? { experiment: choice.experiment } : {}), ...(choice.variant ? { variant: choice.variant } : {}) };

    let scores: Float32Array | null = null;
    let version: number | null = null;
    const why = this.unfit(choice.model);
    if (why) {
      this.logger.warn({ model: choice.model, reason: why }, 'feed ranking falls back to trending order');
    } else if (candidates.length === 0) {
      version = choice.version ?? this.models.version(choice.model) ?? null;
      scores = new Float32Array(0);
    } else {
      const x = new Float32Array(candidates.length * FEATURE_COUNT);
      const facts = { likesByCreator: viewer.likesByCreator, watchSecondsByCreator: viewer.watchSecondsByCreator, followedCreators: viewer.followed };
      // One facts object, refilled per row: no allocation per candidate.
      const v: VideoFacts = { ownerId: '', views: 0, likes: 0, publishedAtMs: 0, durationSeconds: null };
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i];
        v.ownerId = c.owner_id;
        v.views = c.views;
        v.likes = c.likes;
        v.publishedAtMs = c.publishedMs;
        v.durationSeconds = c.duration_seconds;
        writeFeatures(x, i, v, facts, this.state.likesOfCreator(c.owner_id), now);
      }
      const inputName = this.models.signature(choice.model)!.inputs[0].name;
      try {
        const r = await this.models.run(choice.model, { [inputName]: { type: 'float32', dims: [candidates.length, FEATURE_COUNT], data: x } }, choice.version);
        const out = Object.values(r.outputs)[0];
        const per = out.data.length / candidates.length;
        scores = Float32Array.from({ length: candidates.length }, (_, i) => Number(out.data[i * per]));
        version = r.version;
      } catch (err) {
        this.logger.warn({ model: choice.model, version: choice.version, err: (err as Error).message }, 'feed model failed; falling back to trending order');
      }
    }

    const trend = new Float64Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      trend[i] = trendingScore({ views: c.views, likes: c.likes, watchSeconds: c.watch_seconds, publishedAtMs: c.publishedMs }, now);
    }
    const ranked = candidates.map((c, i) => ({ c, score: scores ? scores[i] : trend[i], trend: trend[i], at: c.publishedMs }));
    // Trending: among the top quarter of the candidates by engagement decayed by age, and engaged with.
    const trendBar = trend.slice().sort().reverse()[Math.floor(trend.length / 4)] ?? Infinity;
    const reason = (c: PoolVideo, t: number): FeedReason => {
      if (viewer.followed.has(c.owner_id)) return 'followed';
      if ((viewer.likesByCreator.get(c.owner_id) ?? 0) > 0 || (viewer.watchSecondsByCreator.get(c.owner_id) ?? 0) >= 60) return 'similar_to_liked';
      if (t >= trendBar && c.views + c.likes > 0) return 'trending';
      if (now - c.publishedMs < NEW_HOURS * 3_600_000) return 'new';
      return 'popular';
    };
    // Ties (equal scores) go to the newer video.
    ranked.sort((a, b) => b.score - a.score || b.at - a.at || (a.c.id < b.c.id ? 1 : -1));
    const top = ranked.slice(0, limit);
    const list = {
      videos: top.map((r) => r.c),
      scores: Float64Array.from(top, (r) => Math.round(r.score * 1e6) / 1e6),
      reasons: top.map((r) => reason(r.c, r.trend)),
    };
    return scores ? { ...list, ...base, model_version: version, ranking: 'model' } : { ...list, ...base, model_version: null, ranking: 'fallback' };
  }
}

// The personalised feed: candidates (followed creators' recent videos, recent and popular public
// ready videos the user has not watched and did not make), taken with their features from the
// maintained read model (feed.state) → one tensor → one batched call to the serving ranker → ranked list. When no model
// can rank (not served, wrong signature, failing), the feed falls back to trending order and says
// so. Which model and version rank a request is decided by a replaceable selector, so an
// experiment can route users to a variant.
import type { AuthUser } from '../accounts/accounts.service.js';
import type { FeedConfig } from '../config.js';
import { ValidationError } from '../http/errors.js';
import type { Logger } from '../infra/logger.js';
import type { ModelService } from '../models/models.service.js';
import { isDynamic } from '../models/models.signature.js';
import { FEATURE_COUNT, trendingScore, writeFeatures } from './feed.features.js';
import type { FeedState, VideoFeat, Viewer } from './feed.state.js';

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

/** How long a viewer's ranked list is reused while their activity is unchanged. */
const CACHE_MS = 5_000;
/** How long a session can page through one list, and how many lists are kept in all. */
const SNAPSHOT_MS = 10 * 60_000;
const MAX_SNAPSHOTS = 10_000;
/** A list holds this many pages of the largest size. */
const PAGES = 5;

type Snapshot = FeedResult & { id: string; userId: string; stamp: string; at: number; bodies?: Map<string, string> };

export class FeedService {
  private selector: FeedModelSelector;

  constructor(
    private readonly state: FeedState,
    private readonly models: ModelService,
    private readonly opts: FeedConfig,
    private readonly logger: Logger,
    /** Of these videos, the ones listed now (videos own visibility): a cached list never outlives an edit. */
    private readonly stillListed: (ids: string[]) => Promise<Set<string>>,
    /** Chooses the ranking model per request (the running A/B experiment); the default model when absent. */
    selector?: FeedModelSelector,
  ) {
    this.selector = selector ?? (() => ({ model: opts.model }));
  }

  /**
   * Replaces the selector given at construction. The composition root never calls it (it passes the
   * experiment's selector to the constructor); tests use it to route one request to a version.
   */
  setModelSelector(selector: FeedModelSelector): void {
    this.selector = selector;
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
    return (await this.page(user, limit, cursor)).result;
  }

  private async page(user: AuthUser, limit: number, cursor?: string): Promise<{ result: FeedResult & { next_cursor: string | null }; snapshot: Snapshot; whole: boolean; offset: number }> {
    let list: Snapshot | undefined;
    let offset = 0;
    if (cursor) {
      const m = /^([0-9a-z]{1,20})\.(\d{1,6})$/.exec(cursor);
      list = m ? this.snapshots.get(m[1]) : undefined;
      // A list from before a restart (or too old) cannot continue; say so rather than repeat items.
      if (!m || !list || list.userId !== user.id || Date.now() - list.at > SNAPSHOT_MS) throw new ValidationError('The cursor is unknown or has expired; start again without it.', [{ field: 'cursor', message: 'is invalid or expired' }]);
      offset = Number(m[2]);
    } else {
      // A different model choice (a selector, an experiment) or a reload is a different list too.
      const choice = await this.choose(user);
      await this.state.ready();
      const viewer = await this.state.viewer(user.id);
      const stamp = [viewer.stamp, this.state.version, choice.model, choice.version ?? this.models.version(choice.model), choice.experiment, choice.variant].join('|');
      const cached = this.latest.get(user.id);
      if (cached && cached.stamp === stamp && Date.now() - cached.at < CACHE_MS && this.snapshots.has(cached.id)) list = cached;
      else {
        const ranked = await this.rank(user, viewer, this.opts.maxLimit * PAGES, choice);
        list = { ...ranked, id: (++this.seq).toString(36) + Math.random().toString(36).slice(2, 8), userId: user.id, stamp, at: Date.now() };
        this.latest.set(user.id, list);
        this.snapshots.set(list.id, list);
        for (const [id, old] of this.snapshots) {
          if (this.snapshots.size <= MAX_SNAPSHOTS && Date.now() - old.at <= SNAPSHOT_MS) break;
          this.snapshots.delete(id);
          if (this.latest.get(old.userId)?.id === id) this.latest.delete(old.userId);
        }
      }
    }
    const { items, id, userId: _u, stamp: _s, at: _a, bodies: _b, ...meta } = list;
    const end = offset + limit;
    // A video made unlisted, private or deleted since the list was ranked leaves it at once.
    const page = items.slice(offset, end);
    const listed = page.length ? await this.stillListed(page.map((i) => i.id)) : new Set<string>();
    const result = { ...meta, items: page.filter((i) => listed.has(i.id)), next_cursor: end < items.length ? `${id}.${end}` : null };
    return { result, snapshot: list, whole: result.items.length === page.length, offset };
  }

  /**
   * The page as JSON text: a page of a cached list is serialized once and then sent as is (the
   * same fields, in the same order, as the response schema), unless videos left it since.
   */
  async feedBody(user: AuthUser, limit: number, cursor?: string): Promise<string> {
    const { result, snapshot, whole, offset } = await this.page(user, limit, cursor);
    if (!whole) return JSON.stringify(result);
    const key = `${offset}.${limit}`;
    snapshot.bodies ??= new Map();
    let body = snapshot.bodies.get(key);
    if (body === undefined) {
      body = JSON.stringify(result);
      snapshot.bodies.set(key, body);
    }
    return body;
  }

  private readonly latest = new Map<string, Snapshot>();
  /** Ranked lists by id, oldest first (Map order), for cursors. */
  private readonly snapshots = new Map<string, Snapshot>();
  private seq = 0;

  /**
   * Recent videos plus the most engaged-with ones, de-duplicated, at most `limit`, none the viewer
   * made or already saw; the recent videos of followed creators come first, so a follow always
   * brings its creator's new videos in.
   */
  private candidates(userId: string, viewer: Viewer, sinceIso: string, limit: number): VideoFeat[] {
    const { recent, popular } = this.state.sorted();
    const ok = (v: VideoFeat): boolean => v.owner_id !== userId && !viewer.seen.has(v.id);
    const take = (from: VideoFeat[], n: number, pass: (v: VideoFeat) => boolean): VideoFeat[] => {
      const out: VideoFeat[] = [];
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
    const out = new Map<string, VideoFeat>();
    for (const r of followed) out.set(r.id, r);
    // Keep room for the popular half when there are more recent videos than the budget.
    for (const r of fresh.slice(0, Math.max(rest - engaged.length, half))) if (out.size < limit) out.set(r.id, r);
    for (const r of engaged) if (out.size < limit) out.set(r.id, r);
    for (const r of fresh) if (out.size < limit) out.set(r.id, r);
    return [...out.values()];
  }

  private async rank(user: AuthUser, viewer: Viewer, limit: number, choice: FeedModelChoice): Promise<FeedResult> {
    const now = Date.now();
    const since = new Date(now - this.opts.candidateDays * 86_400_000).toISOString();
    const candidates = this.candidates(user.id, viewer, since, this.opts.maxCandidates);
    // Parsed once per candidate, not in every comparison of the sort.
    const publishedMs = new Map(candidates.map((c) => [c, Date.parse(c.ready_at ?? c.created_at)]));
    const published = (c: VideoFeat): number => publishedMs.get(c)!;
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
      candidates.forEach((c, i) => {
        writeFeatures(x, i, { ownerId: c.owner_id, views: c.views, likes: c.likes, publishedAtMs: published(c), durationSeconds: c.duration_seconds }, facts, this.state.likesOfCreator(c.owner_id), now);
      });
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

    const trend = candidates.map((c) => trendingScore({ views: c.views, likes: c.likes, watchSeconds: c.watch_seconds, publishedAtMs: published(c) }, now));
    const ranked = candidates.map((c, i) => ({ c, score: scores ? scores[i] : trend[i], trend: trend[i], at: published(c) }));
    // Trending: among the top quarter of the candidates by engagement decayed by age, and engaged with.
    const trendBar = [...trend].sort((a, b) => b - a)[Math.floor(trend.length / 4)] ?? Infinity;
    const reason = (c: VideoFeat, t: number): FeedReason => {
      if (viewer.followed.has(c.owner_id)) return 'followed';
      if ((viewer.likesByCreator.get(c.owner_id) ?? 0) > 0 || (viewer.watchSecondsByCreator.get(c.owner_id) ?? 0) >= 60) return 'similar_to_liked';
      if (t >= trendBar && c.views + c.likes > 0) return 'trending';
      if (now - published(c) < NEW_HOURS * 3_600_000) return 'new';
      return 'popular';
    };
    // Ties (equal scores) go to the newer video.
    ranked.sort((a, b) => b.score - a.score || b.at - a.at || (a.c.id < b.c.id ? 1 : -1));
    const items = ranked.slice(0, limit).map(({ c, score, trend: t }) => ({
      id: c.id,
      title: c.title,
      owner_id: c.owner_id,
      created_at: c.created_at,
      duration_seconds: c.duration_seconds,
      views: c.views,
      likes: c.likes,
      score: Math.round(score * 1e6) / 1e6,
      reason: reason(c, t),
    }));
    return scores ? { items, ...base, model_version: version, ranking: 'model' } : { items, ...base, model_version: null, ranking: 'fallback' };
  }
}

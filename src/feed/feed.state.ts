// The feed's read model, kept current rather than recomputed per request: every listed video with
// its engagement totals (the candidate pool, with recent and popular orders) and, per viewer, what
// they did per creator, the videos they already saw and whom they follow. Events (and the actor's
// own request, so a like shows in their next feed) refresh the rows they touch from the owning
// capabilities. Each node holds it in memory; with Redis (scaled out) the shared copy lives there,
// and every node mirrors the rows another node changed, announced on a channel.
import type { Redis } from 'ioredis';
import type { VideoTotals } from '../engagement/engagement.queries.js';
import type { Logger } from '../infra/logger.js';
import type { ListedVideoFacts } from '../videos/videos.queries.js';

export type VideoFeat = ListedVideoFacts & VideoTotals;

/** A pool row as ranking reads it: the stored facts plus what is derived from them once, on change. */
export type PoolVideo = VideoFeat & {
  /** ready_at (else created_at) as epoch ms, parsed once rather than per ranking. */
  readonly publishedMs: number;
};

/** One viewer's features, in the form that ranking reads. */
export interface Viewer {
  likesByCreator: Map<string, number>;
  watchSecondsByCreator: Map<string, number>;
  /** Videos liked or watched: not candidates any more. */
  seen: Set<string>;
  followees: string[];
  followed: Set<string>;
  /** Changes whenever the features do: part of the per-viewer list cache's key. */
  stamp: string;
}

/** A viewer as stored in Redis. */
interface ViewerJson {
  likes: Array<[string, number]>;
  watch: Array<[string, number]>;
  seen: string[];
  followees: string[];
  stamp: string;
}

/** Where the state is read from: the owning capabilities' query functions. */
export interface FeedSources {
  newestListed(limit: number): Promise<ListedVideoFacts[]>;
  mostEngaged(limit: number): Promise<string[]>;
  listed(ids: string[]): Promise<ListedVideoFacts[]>;
  totals(ids: string[]): Promise<Map<string, VideoTotals>>;
  owners(ids: string[]): Promise<Map<string, string>>;
  userEngagement(userId: string, limit: number): Promise<{ liked: string[]; watched: Array<{ video_id: string; seconds: number }> }>;
  followees(userId: string): Promise<string[]>;
}

export interface FeedStateOptions {
  /** Most videos kept in the pool (the newest and the most engaged-with). */
  maxVideos: number;
  /** Most viewers kept in memory per node (least recently used leave first). */
  maxViewers: number;
  redisPrefix: string;
}

/** A user's likes and watch reports read per refresh, newest first. */
const USER_ROWS = 10_000;
const VIEWER_TTL_S = 86_400;

const byRecent = (a: PoolVideo, b: PoolVideo): number => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1);
const popularity = (v: PoolVideo): number => v.likes * 3 + v.views + v.watch_seconds / 60;

export class FeedState {
  private readonly videos = new Map<string, PoolVideo>();
  /**
   * Listed videos that left the pool only because it was full (the oldest leave first): still
   * listed, so a ranked list that holds one keeps it. Bounded like the pool.
   */
  private readonly aged = new Set<string>();
  private readonly creatorLikes = new Map<string, number>();
  private readonly viewers = new Map<string, Viewer>();
  private loading: Promise<void> | null = null;
  private orders: { recent: PoolVideo[]; popular: PoolVideo[] } | null = null;
  private subscriber: Redis | null = null;
  /** Bumped whenever a video enters or leaves the pool: every cached list is then rebuilt. */
  version = 0;

  constructor(
    private readonly src: FeedSources,
    private readonly opts: FeedStateOptions,
    private readonly redis: Redis | null,
    private readonly logger: Logger,
  ) {}

  private get channel(): string {
    return `${this.opts.redisPrefix}changed`;
  }

  /** Listens for other nodes' changes (Redis only). */
  async start(): Promise<void> {
    if (!this.redis) return;
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_ch: string, message: string) => void this.onMessage(message));
    await this.subscriber.subscribe(this.channel);
  }

  async stop(): Promise<void> {
    if (this.subscriber) await this.subscriber.quit().catch(() => this.subscriber?.disconnect());
    this.subscriber = null;
  }

  /** The pool, loaded on first use (from Redis when another node already built it). */
  ready(): Promise<void> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const p = this.opts.redisPrefix;
    if (this.redis && (await this.redis.exists(`${p}loaded`))) {
      const all = await this.redis.hgetall(`${p}v`);
      this.applyVideos(
        Object.values(all).map((s) => JSON.parse(s) as VideoFeat),
        [],
      );
      return;
    }
    const newest = await this.src.newestListed(this.opts.maxVideos);
    const have = new Set(newest.map((v) => v.id));
    const engaged = (await this.src.mostEngaged(Math.ceil(this.opts.maxVideos / 4))).filter((id) => !have.has(id));
    const facts = [...newest, ...(engaged.length ? await this.src.listed(engaged) : [])];
    const rows = await this.withTotals(facts);
    if (this.redis) {
      const m = this.redis.multi().del(`${p}v`);
      for (let i = 0; i < rows.length; i += 500) m.hset(`${p}v`, Object.fromEntries(rows.slice(i, i + 500).map((r) => [r.id, JSON.stringify(r)])));
      await m.set(`${p}loaded`, '1').exec();
    }
    this.applyVideos(rows, []);
  }

  private async withTotals(facts: ListedVideoFacts[]): Promise<VideoFeat[]> {
    const totals = await this.src.totals(facts.map((f) => f.id));
    return facts.map((f) => ({ ...f, ...(totals.get(f.id) ?? { views: 0, likes: 0, watch_seconds: 0 }) }));
  }

  /** Re-reads these videos (new, edited, deleted, engaged with) and shares the result. */
  async refreshVideos(ids: string[]): Promise<void> {
    // Without Redis, a pool not loaded yet has nothing to update (loading reads the current rows);
    // with it, this node may be the only one that hears the event, so the shared copy is updated.
    if (ids.length === 0 || (!this.redis && !this.loading)) return;
    await this.ready();
    const rows = await this.withTotals(await this.src.listed(ids));
    const found = new Set(rows.map((r) => r.id));
    const gone = ids.filter((id) => !found.has(id));
    if (this.redis) {
      const p = this.opts.redisPrefix;
      const m = this.redis.multi();
      if (rows.length) m.hset(`${p}v`, Object.fromEntries(rows.map((r) => [r.id, JSON.stringify(r)])));
      if (gone.length) m.hdel(`${p}v`, ...gone);
      await m.publish(this.channel, JSON.stringify({ v: ids })).exec();
    }
    this.applyVideos(rows, gone);
  }

  /** Forgets the viewer's features (here and, with Redis, everywhere): the next request reads them again. */
  async viewerChanged(userId: string): Promise<void> {
    this.viewers.delete(userId);
    if (this.redis) {
      await this.redis
        .multi()
        .del(`${this.opts.redisPrefix}u:${userId}`)
        .publish(this.channel, JSON.stringify({ u: [userId] }))
        .exec();
    }
  }

  /**
   * The viewer acted (liked, watched, followed) on this node: their features and the videos'
   * totals are refreshed before the answer, so their next feed shows it. Never fails the action.
   */
  async acted(userId: string, videoIds: string[] = []): Promise<void> {
    try {
      await Promise.all([this.viewerChanged(userId), this.refreshVideos(videoIds)]);
    } catch (err) {
      this.logger.warn({ err, user_id: userId }, 'feed: refreshing after an action failed; events will refresh it');
    }
  }

  private async onMessage(message: string): Promise<void> {
    let msg: { v?: unknown; u?: unknown };
    try {
      msg = JSON.parse(message) as typeof msg;
    } catch {
      return;
    }
    const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
    for (const id of strings(msg.u)) this.viewers.delete(id);
    const ids = strings(msg.v);
    // Before this node loaded the pool there is nothing to update: loading reads the shared copy.
    if (!ids.length || !this.redis || !this.loading) return;
    try {
      await this.loading;
      const rows = await this.redis.hmget(`${this.opts.redisPrefix}v`, ...ids);
      const present = rows.map((r) => (r ? (JSON.parse(r) as VideoFeat) : null));
      this.applyVideos(
        present.filter((r): r is VideoFeat => r !== null),
        ids.filter((_, i) => present[i] === null),
      );
    } catch (err) {
      this.logger.warn({ err }, 'feed: reading videos another node changed failed');
    }
  }

  private applyVideos(rows: VideoFeat[], gone: string[]): void {
    let membership = false;
    const drop = (id: string): void => {
      const old = this.videos.get(id);
      if (!old) return;
      this.videos.delete(id);
      this.addCreatorLikes(old.owner_id, -old.likes);
      membership = true;
    };
    for (const id of gone) {
      drop(id);
      this.aged.delete(id);
    }
    for (const r of rows) {
      const old = this.videos.get(r.id);
      if (old) this.addCreatorLikes(old.owner_id, -old.likes);
      else membership = true;
      this.videos.set(r.id, { ...r, publishedMs: Date.parse(r.ready_at ?? r.created_at) });
      this.aged.delete(r.id);
      this.addCreatorLikes(r.owner_id, r.likes);
    }
    if (this.videos.size > this.opts.maxVideos) {
      // The oldest leave first.
      for (const v of [...this.videos.values()].sort(byRecent).slice(this.opts.maxVideos)) {
        drop(v.id);
        this.aged.add(v.id);
      }
      for (const id of this.aged) {
        if (this.aged.size <= this.opts.maxVideos) break;
        this.aged.delete(id);
      }
    }
    if (membership) this.version++;
    if (rows.length || gone.length) this.orders = null;
  }

  private addCreatorLikes(owner: string, n: number): void {
    const total = (this.creatorLikes.get(owner) ?? 0) + n;
    if (total === 0) this.creatorLikes.delete(owner);
    else this.creatorLikes.set(owner, total);
  }

  /** Total likes on a creator's listed videos. */
  likesOfCreator(owner: string): number {
    return this.creatorLikes.get(owner) ?? 0;
  }

  /**
   * Whether this video is listed as far as this node knows: in the pool, or aged out of it. Edits,
   * hides and deletions on this node update the pool as they commit; another node's reach it
   * through Redis (or the event), so a page is checked here rather than against the database.
   */
  isListed(id: string): boolean {
    return this.videos.has(id) || this.aged.has(id);
  }

  /** The pool newest first, and by popularity (likes, views, watched minutes), re-sorted only after a change. */
  sorted(): { recent: PoolVideo[]; popular: PoolVideo[] } {
    if (!this.orders) {
      const all = [...this.videos.values()];
      const recent = [...all].sort(byRecent);
      const popular = all.sort((a, b) => popularity(b) - popularity(a) || byRecent(a, b));
      this.orders = { recent, popular };
    }
    return this.orders;
  }

  /** The viewer's features: from memory, else the shared copy, else read from the owners. */
  async viewer(userId: string): Promise<Viewer> {
    const hit = this.viewers.get(userId);
    if (hit) {
      // Least recently used leave first: re-insert to move to the end.
      this.viewers.delete(userId);
      this.viewers.set(userId, hit);
      return hit;
    }
    const key = `${this.opts.redisPrefix}u:${userId}`;
    let json: ViewerJson | null = null;
    if (this.redis) {
      const s = await this.redis.get(key);
      if (s) json = JSON.parse(s) as ViewerJson;
    }
    if (!json) {
      json = await this.readViewer(userId);
      if (this.redis) await this.redis.set(key, JSON.stringify(json), 'EX', VIEWER_TTL_S);
    }
    const v: Viewer = {
      likesByCreator: new Map(json.likes),
      watchSecondsByCreator: new Map(json.watch),
      seen: new Set(json.seen),
      followees: json.followees,
      followed: new Set(json.followees),
      stamp: json.stamp,
    };
    this.viewers.set(userId, v);
    if (this.viewers.size > this.opts.maxViewers) this.viewers.delete(this.viewers.keys().next().value!);
    return v;
  }

  private async readViewer(userId: string): Promise<ViewerJson> {
    const [eng, followees] = await Promise.all([this.src.userEngagement(userId, USER_ROWS), this.src.followees(userId)]);
    const seen = [...new Set([...eng.liked, ...eng.watched.map((w) => w.video_id)])];
    const owners = await this.src.owners(seen);
    const likes = new Map<string, number>();
    const watch = new Map<string, number>();
    for (const id of eng.liked) {
      const o = owners.get(id);
      if (o) likes.set(o, (likes.get(o) ?? 0) + 1);
    }
    for (const w of eng.watched) {
      const o = owners.get(w.video_id);
      if (o) watch.set(o, (watch.get(o) ?? 0) + w.seconds);
    }
    const stamp = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
    return { likes: [...likes], watch: [...watch], seen, followees, stamp };
  }
}

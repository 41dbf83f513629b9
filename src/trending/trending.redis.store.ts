// Trending scores in Redis sorted sets, shared by every node: one sorted set per window
// (member = video id, score = log-space score) and one of each video's latest engagement time.
// Updates run as one Lua script, so log-add-exp is atomic however many nodes write at once.
import type { Redis } from 'ioredis';
import { logTerm, WINDOW_SECONDS, WINDOWS, type TrendingWindow } from './trending.score.js';
import type { Engagement, Ranked, TrendingStore } from './trending.store.js';

const ADD = `
local n = tonumber(ARGV[1])
local oncePrefix = ARGV[2]
local onceTtl = tonumber(ARGV[3])
local i = 4
for _ = 1, n do
  local id = ARGV[i]
  local at = tonumber(ARGV[i + 1])
  local once = ARGV[i + 2]
  local counted = true
  if once ~= '' then
    local k = oncePrefix .. id
    if redis.call('SADD', k, once) == 0 then counted = false else redis.call('EXPIRE', k, onceTtl) end
  end
  if counted then
    for w = 1, 3 do
      local x = tonumber(ARGV[i + 2 + w])
      local cur = redis.call('ZSCORE', KEYS[w], id)
      if cur then
        local c = tonumber(cur)
        local m = math.max(c, x)
        x = m + math.log(1 + math.exp(-math.abs(c - x)))
      end
      redis.call('ZADD', KEYS[w], x, id)
    end
    local last = redis.call('ZSCORE', KEYS[4], id)
    if (not last) or tonumber(last) < at then redis.call('ZADD', KEYS[4], at, id) end
  end
  i = i + 6
end
return n`;

const PRUNE = `
local removed = 0
for w = 1, 3 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[w], 'LIMIT', 0, 5000)
  for _, id in ipairs(ids) do
    removed = removed + redis.call('ZREM', KEYS[w], id)
    if w == 3 then
      redis.call('ZREM', KEYS[4], id)
      redis.call('DEL', ARGV[4] .. id)
    end
  end
end
return removed`;

export class RedisTrendingStore implements TrendingStore {
  private readonly keys: string[];

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.keys = [...WINDOWS.map((w) => `${prefix}score:${w}`), `${prefix}last`];
  }

  async add(engagements: Engagement[]): Promise<void> {
    if (engagements.length === 0) return;
    const args: string[] = [String(engagements.length), `${this.prefix}once:`, String(WINDOW_SECONDS['7d'])];
    for (const e of engagements) {
      args.push(e.videoId, String(e.atMs), e.onceKey ?? '', ...WINDOWS.map((w) => String(logTerm(w, e.weight, e.atMs))));
    }
    await this.redis.eval(ADD, this.keys.length, ...this.keys, ...args);
  }

  async remove(videoId: string): Promise<void> {
    const m = this.redis.multi();
    for (const k of this.keys) m.zrem(k, videoId);
    m.del(`${this.prefix}once:${videoId}`);
    await m.exec();
  }

  async top(window: TrendingWindow, limit: number, nowMs: number): Promise<Ranked[]> {
    // A few more than asked: entries past the window linger until the next prune.
    const raw = await this.redis.zrevrange(this.keys[WINDOWS.indexOf(window)], 0, limit + 49, 'WITHSCORES');
    if (raw.length === 0) return [];
    const ids: string[] = [];
    const scores: number[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      ids.push(raw[i]);
      scores.push(Number(raw[i + 1]));
    }
    const last = await this.redis.zmscore(this.keys[3], ...ids);
    const since = nowMs - WINDOW_SECONDS[window] * 1000;
    const out: Ranked[] = [];
    ids.forEach((videoId, i) => {
      if (last[i] !== null && Number(last[i]) >= since) out.push({ videoId, logScore: scores[i] });
    });
    return out.slice(0, limit);
  }

  async prune(nowMs: number): Promise<void> {
    const cutoffs = WINDOWS.map((w) => String(nowMs - WINDOW_SECONDS[w] * 1000));
    await this.redis.eval(PRUNE, this.keys.length, ...this.keys, ...cutoffs, `${this.prefix}once:`);
  }

  async close(): Promise<void> {}
}

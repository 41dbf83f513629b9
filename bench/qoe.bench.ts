// npm run bench:qoe — a video's playback-quality summary read from the hourly aggregates that
// ingest maintains, against the baseline a non-incremental design pays on every request: replaying
// every raw event of the video's sessions through the same session state machine. Both read the
// same SQLite database filled through QoeService.ingest; the ratio of their times is printed.
// QOE_BENCH_SESSIONS (default 1000) sessions of ~60 events each.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { v7 as uuidv7 } from 'uuid';
import { openDatabase } from '../src/infra/db/database.js';
import { migrateToLatest } from '../src/infra/db/migrate.js';
import { QoeRepository } from '../src/qoe/qoe.repository.js';
import { QoeService } from '../src/qoe/qoe.service.js';
import { applyEvents, initialState, type PlaybackEvent } from '../src/qoe/qoe.timeline.js';
import { MemoryRateLimiter } from '../src/shared/rate-limiter.js';

const SESSIONS = Number(process.env.QOE_BENCH_SESSIONS ?? 1000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nova-bench-qoe-'));
const db = openDatabase({ sqlitePath: path.join(dir, 'nova.db') });
await migrateToLatest(db);
const video = uuidv7();
const service = new QoeService(
  new QoeRepository(db),
  new MemoryRateLimiter(),
  { videoOwner: async () => 'owner', streamOwner: async () => null },
  {
    retentionDays: 30,
    sessionsPerMinute: 1e9,
    batchesPerMinute: 1e9,
    maxEventsPerSession: 1e6,
    pruneIntervalSeconds: 3600,
  },
);

const t0 = performance.now();
for (let s = 0; s < SESSIONS; s++) {
  const id = uuidv7();
  const events: PlaybackEvent[] = [
    { type: 'level_switch', at_ms: 0, height: 720, bitrate: 2_500_000 },
    { type: 'startup', at_ms: 400 + (s % 700), ms: 400 + (s % 700) },
  ];
  for (let k = 1; k <= 55; k++)
    events.push(
      k % 9 === 0
        ? { type: 'rebuffer_start', at_ms: 1000 + k * 1000 }
        : k % 9 === 1 && k > 1
          ? { type: 'rebuffer_end', at_ms: 1000 + k * 1000 }
          : { type: 'heartbeat', at_ms: 1000 + k * 1000, position: k },
    );
  events.push({ type: 'end', at_ms: 60_000 });
  await service.ingest({ session_id: id, video_id: video, events }, { user: null, address: '127.0.0.1' });
}
const ingestMs = performance.now() - t0;

async function replay(): Promise<number> {
  const rows = await db.kysely
    .selectFrom('qoe_events as e')
    .innerJoin('qoe_sessions as s', 's.session_id', 'e.session_id')
    .select(['e.session_id', 'e.type', 'e.at_ms', 'e.data'])
    .where('s.video_id', '=', video)
    .orderBy('e.session_id')
    .orderBy('e.at_ms')
    .execute();
  let play = 0;
  let current = '';
  let batch: PlaybackEvent[] = [];
  const flush = () => {
    if (batch.length) play += applyEvents({ ...initialState(), lastAtMs: batch[0]!.at_ms }, batch).delta.playMs;
    batch = [];
  };
  for (const r of rows) {
    if (r.session_id !== current) {
      flush();
      current = r.session_id;
    }
    batch.push({ type: r.type, at_ms: Number(r.at_ms), ...JSON.parse(r.data) } as PlaybackEvent);
  }
  flush();
  return play;
}

const time = async (fn: () => Promise<unknown>, n: number) => {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - start) / n;
};
await time(() => service.summary(`v:${video}`, '24h', 'hours'), 3);
await time(replay, 1);
const aggregateMs = await time(() => service.summary(`v:${video}`, '24h', 'hours'), 50);
const replayMs = await time(replay, 5);
const agg = await service.summary(`v:${video}`, '24h', 'hours');
console.log(`sessions ${SESSIONS}, raw events ${SESSIONS * 58}; ingest ${(ingestMs / SESSIONS).toFixed(2)} ms per batch`);
console.log(`summary from hourly aggregates: ${aggregateMs.toFixed(2)} ms; replaying raw events: ${replayMs.toFixed(1)} ms; ratio ${(replayMs / aggregateMs).toFixed(1)}x`);
console.log(`(same viewing time both ways: ${agg.viewing_seconds.toFixed(0)} s vs ${((await replay()) / 1000).toFixed(0)} s)`);
await db.close();
fs.rmSync(dir, { recursive: true, force: true });

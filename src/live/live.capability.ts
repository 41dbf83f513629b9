// Wires live streaming into Nova: the service (shared with chat through createLiveService), its
// HTTP routes, and for API processes the RTMP ingest, the lifecycle sweeps and the recording hand-off.
import { Gauge } from 'prom-client';
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { mediaToolsFor } from '../media/index.js';
import { LiveIngest } from './live.ingest.js';
import { RecordingFinalizer, type RecordingSink } from './live.recording.js';
import { LiveRepository } from './live.repository.js';
import { registerLiveRoutes } from './live.routes.js';
import { RedisViewerPresence } from './live.presence.js';
import { LiveService } from './live.service.js';

export function createLiveService(c: Container): LiveService {
  const redis = c.redis;
  const live = new LiveService(
    new LiveRepository(c.db),
    c.logger,
    {
      reconnectWindowSeconds: c.config.liveReconnectWindowSeconds,
      maxDurationSeconds: c.config.liveMaxDurationSeconds,
      segmentSeconds: c.config.liveSegmentSeconds,
      maxViewersPerAddress: c.config.liveMaxViewersPerAddress,
      creatorActive: (id) => c.accounts.isActive(id),
    },
    redis
      ? (tracker, ttlMs) => {
          // Every API process counts the same viewers. A connection of its own, whose commands fail
          // fast while Redis is away, so a sweep never holds up ending streams. A set outlives its
          // last write by a minute at most.
          const conn = redis.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000 });
          conn.on('error', () => {});
          return new RedisViewerPresence(conn, `${c.config.queuePrefix}:live-viewers:`, tracker, Math.max(60_000, 10 * ttlMs));
        }
      : undefined,
  );
  // A disabled creator's broadcasts end now; their keys are refused from then on (creatorActive).
  c.accounts.onUserDisabled((id) => live.endLiveOf(id));
  return live;
}

export interface LiveCapabilityDeps {
  /** The VOD side that turns a recording file into a video; null while none is wired. */
  recordingSink?: () => RecordingSink | null;
}

export function liveCapability(c: Container, live: LiveService, deps: LiveCapabilityDeps = {}): Capability & { service: LiveService } {
  const cfg = c.config;
  const ffmpeg = () => mediaToolsFor(cfg).ffmpeg;
  const ingest = new LiveIngest(live, c.storage, c.logger, {
    port: cfg.rtmpPort,
    host: cfg.host,
    segmentSeconds: cfg.liveSegmentSeconds,
    playlistSegments: cfg.livePlaylistSegments,
    preset: cfg.liveFfmpegPreset,
    record: cfg.liveRecord,
    maxIngestHeight: cfg.liveMaxIngestHeight,
    maxIngestKbps: cfg.liveMaxIngestKbps,
    maxConnections: cfg.liveMaxConnections,
    maxConnectionsPerAddress: cfg.liveMaxConnectionsPerAddress,
    authTimeoutSeconds: cfg.liveAuthTimeoutSeconds,
    preauthMaxBytes: cfg.livePreauthMaxBytes,
    maxMessageBytes: cfg.liveMaxMessageBytes,
    ffmpeg,
  });
  const finalizer = new RecordingFinalizer(live.repo, c.storage, c.logger, {
    ffmpeg,
    sink: deps.recordingSink ?? (() => null),
    timeoutSeconds: cfg.ffmpegTimeoutSeconds,
  });
  let started = false;
  return {
    name: 'live',
    service: live,
    routes(app: NovaApp) {
      registerLiveRoutes(app, {
        live,
        storage: c.storage,
        publicUrl: cfg.publicUrl,
        hookSecret: cfg.liveHookSecret,
        rtmpUrl: (req) => cfg.liveRtmpUrl ?? `rtmp://${req.hostname}:${ingest.port ?? cfg.rtmpPort}/live`,
      });
    },
    async start(roles: Roles) {
      if (!roles.api) return;
      await ingest.start();
      live.start(() => finalizer.run());
      started = true;
      new Gauge({
        name: 'nova_live_publishers',
        help: 'Encoders publishing to this process right now.',
        registers: [c.metrics],
        collect() {
          this.set(ingest.sessions.size);
        },
      });
      new Gauge({
        name: 'nova_live_transcoders',
        help: 'Live ffmpeg processes run by this process.',
        registers: [c.metrics],
        collect() {
          this.set(ingest.transcoders);
        },
      });
    },
    async stop() {
      if (started) {
        // A recording being joined is abandoned (and left pending for the next start) rather than
        // awaited: joining can take as long as the stream lasted.
        finalizer.abort();
        await ingest.stop();
      }
      // Always: the service holds a Redis connection for viewer counts in every role.
      await live.stop();
    },
  };
}

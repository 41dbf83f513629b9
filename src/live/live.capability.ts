// Wires live streaming into Nova: the service (shared with chat through createLiveService),
// its HTTP routes, and for API processes the lifecycle sweeps.
import type { Capability, NovaApp, Roles } from '../capability.js';
import type { Container } from '../container.js';
import { LiveRepository } from './live.repository.js';
import { registerLiveRoutes } from './live.routes.js';
import { LiveService } from './live.service.js';

export function createLiveService(c: Container): LiveService {
  return new LiveService(new LiveRepository(c.db), c.logger, {
    reconnectWindowSeconds: c.config.liveReconnectWindowSeconds,
    maxDurationSeconds: c.config.liveMaxDurationSeconds,
    segmentSeconds: c.config.liveSegmentSeconds,
  });
}

export function liveCapability(c: Container, live: LiveService): Capability {
  const cfg = c.config;
  let rtmpPort = cfg.rtmpPort;
  return {
    name: 'live',
    routes(app: NovaApp) {
      registerLiveRoutes(app, {
        live,
        storage: c.storage,
        publicUrl: cfg.publicUrl,
        hookSecret: cfg.liveHookSecret,
        rtmpUrl: (req) => cfg.liveRtmpUrl ?? `rtmp://${req.hostname}:${rtmpPort}/live`,
      });
    },
    async start(roles: Roles) {
      if (!roles.api) return;
      live.start();
    },
    async stop() {
      await live.stop();
    },
  };
}

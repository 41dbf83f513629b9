// Every capability of Nova, wired from the container in dependency order. Adding a capability
// means adding its folder and one line here.
import type { Capability } from './capability.js';
import type { Container } from './container.js';
import { accountsCapability } from './accounts/accounts.routes.js';
import { healthCapability } from './health/health.routes.js';
import { experimentsCapability } from './experiments/experiments.routes.js';
import { createLiveService, liveCapability } from './live/live.capability.js';
import { videosCapability } from './videos/videos.routes.js';
import { createVodServices } from './videos/videos.wiring.js';
import { createUploadFiles, uploadsCapability } from './uploads/uploads.routes.js';
import { transcodeCapability } from './transcode/transcode.routes.js';
import { chatCapability } from './chat/chat.routes.js';
import { clipsCapability } from './clips/clips.routes.js';
import { modelsCapability } from './models/models.routes.js';
import { engagementCapability } from './engagement/engagement.routes.js';
import { createFeedState, feedCapability } from './feed/feed.routes.js';
import type { FeedModelSelector } from './feed/feed.service.js';
import { eventsCapability } from './events/events.capability.js';
import { webhooksCapability } from './webhooks/webhooks.routes.js';
import { trendingCapability } from './trending/trending.routes.js';
import { webCapability } from './web/web.routes.js';
import { consumeFeedConversions, feedExperimentSelector } from './experiments/feed-experiment.js';
import { qoeCapability } from './qoe/qoe.routes.js';
import { NotFoundError } from './http/errors.js';
import { channelsCapability } from './channels/channels.routes.js';
import { followeeIds } from './channels/channels.queries.js';
import { searchCapability } from './search/search.routes.js';
import { instanceCapability } from './instance/instance.routes.js';
import { moderationCapability } from './moderation/moderation.routes.js';

/** Choices the composition root leaves to whoever starts Nova; production passes none. */
export interface CapabilityOptions {
  /** Picks the feed's ranking model per request instead of the running experiment (tests route requests to a version). */
  feedSelector?: FeedModelSelector;
}

export function createCapabilities(c: Container, opts: CapabilityOptions = {}): Capability[] {
  // Chat closes its sockets when a stream ends and counts its sockets as viewers: it shares this.
  const live = createLiveService(c);
  // The feed's read model comes before every capability that tells it about changes (videos,
  // engagement, channels: each gets a hook to it). It reads whom a user follows through channels'
  // query function, so it needs nothing built after it.
  const feedState = createFeedState(c, (userId) => followeeIds(c.db, userId));
  // VOD: one set of services for every capability that needs videos. Uploads and live recordings
  // feed the pipeline; its capabilities stop after live, which hands it recordings.
  // The feed's read model re-reads a video as soon as an edit, hide or deletion commits.
  // Upload files come first: deleting a video removes its unfinished uploads through them.
  const uploadFiles = createUploadFiles(c);
  const vod = createVodServices(c, {
    removeUploads: (v) => uploadFiles.removeFor(v),
    listingChanged: (videoId) => feedState.refreshVideos([videoId]),
  });
  const vodCapabilities = [videosCapability(c, vod), uploadsCapability(c, vod, uploadFiles), transcodeCapability(c, vod)];
  // QoE asks videos and live who owns what (and whether the caller may see a video).
  const qoe = qoeCapability(c, {
    videoOwner: (id, user) =>
      vod.videos.getVisible(id, user).then(
        (v) => v.owner_id,
        (err: unknown) => {
          if (err instanceof NotFoundError) return null;
          throw err;
        },
      ),
    streamOwner: async (id) => (await live.getStream(id))?.creator_id ?? null,
  });
  // Guardrails read the sessions of an experiment's users from QoE.
  const experiments = experimentsCapability(c, qoe.service);
  const models = modelsCapability(c);
  // The feed ranks with the served models; the running experiment picks its model per user.
  // Its read model hears of likes, watches and follows as they commit (and from events).
  const channels = channelsCapability(c, live, vod.videos, (userId) => feedState.acted(userId));
  const feed = feedCapability(c, models.service, feedState, opts.feedSelector ?? feedExperimentSelector(c, experiments.service, models.service));
  const feedExperiment = consumeFeedConversions(c);
  const feedExperimentCap: Capability = { name: 'feed-experiment', stop: () => feedExperiment.close() };
  const webhooks = webhooksCapability(c);
  const trending = trendingCapability(c);
  // Keep `events` (the outbox relay) last: it starts after and stops before every consumer, so no
  // event is marked delivered while a consumer is not listening.
  // `web` (the app at `/`) has no background work; it comes after every API route it must not shadow.
  return [
    healthCapability(c),
    accountsCapability(c),
    instanceCapability(c),
    ...vodCapabilities,
    qoe,
    experiments,
    liveCapability(c, live, { recordingSink: () => vod.videos }),
    chatCapability(c, live),
    clipsCapability(c, live, vod.videos),
    moderationCapability(c, live, vod.videos),
    models,
    engagementCapability(c, (userId, videoId) => feedState.acted(userId, [videoId])),
    channels,
    searchCapability(c),
    feed,
    feedExperimentCap,
    trending,
    webhooks,
    eventsCapability(c),
    webCapability(c),
  ];
}

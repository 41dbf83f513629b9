// Experiments drive the feed: while an experiment named by FEED_EXPERIMENT runs, each user's
// variant picks the model that ranks their feed, and their likes and watches count as conversions.
// Variant keys name the model: "v2" → version 2 of the feed model, "<model>" or "<model>@<n>" →
// another served model; any other key (e.g. "control") keeps the default model.
import type { AuthUser } from '../accounts/accounts.service.js';
import { consumeEvents } from '../events/events.consumer.js';
import type { Container } from '../container.js';
import type { FeedModelChoice, FeedModelSelector } from '../feed/feed.service.js';
import type { Subscription } from '../infra/bus/bus.js';
import type { ModelService } from '../models/models.service.js';
import { v7 as uuidv7 } from 'uuid';
import type { ExperimentsService } from './experiments.service.js';
import { addMetricDay } from './experiments.repository.js';

const CONSUMER = 'feed-experiment-conversions';
/** How long the running experiment's definition is cached per process. */
const CACHE_MS = 5_000;

export function variantModel(variant: string, defaultModel: string, served: (name: string) => boolean): Omit<FeedModelChoice, 'experiment' | 'variant'> {
  const version = /^v(\d{1,9})$/.exec(variant);
  if (version) return { model: defaultModel, version: Number(version[1]) };
  const named = /^([A-Za-z0-9_.-]{1,64})@(\d{1,9})$/.exec(variant);
  if (named && served(named[1])) return { model: named[1], version: Number(named[2]) };
  if (served(variant)) return { model: variant };
  return { model: defaultModel };
}

/**
 * The feed's model selector for the running experiment, handed to the feed capability when it is
 * built (the experiments and models services are built before it).
 */
export function feedExperimentSelector(c: Container, experiments: ExperimentsService, models: ModelService): FeedModelSelector {
  const key = c.config.feed.experiment;
  const defaultModel = c.config.feed.model;
  let cached: { at: number; running: boolean; metric: string; numeric: boolean } | null = null;
  const current = async () => {
    if (cached && Date.now() - cached.at < CACHE_MS) return cached;
    const e = await experiments.get(key).catch(() => null);
    cached = { at: Date.now(), running: e?.status === 'running', metric: e?.metric ?? '', numeric: e?.metric_type === 'numeric' };
    return cached;
  };

  return async (user: AuthUser) => {
    if (!(await current()).running) return null;
    const { variant } = await experiments.assign(key, user.id);
    if (!variant) return null;
    return { ...variantModel(variant, defaultModel, (name) => models.signature(name) !== undefined), experiment: key, variant };
  };
}

/** Counts the experiment's conversions (likes and watches) as their events arrive. */
export function consumeFeedConversions(c: Container): Subscription {
  const key = c.config.feed.experiment;
  // Conversions go in the consumer's dedupe transaction, so a redelivered like counts once.
  return consumeEvents(
    c.bus,
    c.db,
    {
      name: CONSUMER,
      topics: ['videos.events'],
      types: ['video.liked', 'video.watched'],
      handle: async (trx, events) => {
        // Read through `trx` only: on SQLite the transaction holds the one connection, so a query
        // outside it would wait for this transaction forever.
        const e = await trx.selectFrom('experiments').select(['status', 'metric', 'metric_type']).where('key', '=', key).executeTakeFirst();
        if (e?.status !== 'running') return;
        const numeric = e.metric_type === 'numeric';
        for (const ev of events) {
          const p = ev as unknown as { user_id?: string; liked?: boolean; seconds?: number; timestamp?: string };
          if (!p.user_id || (ev.event_type === 'video.liked' && !p.liked)) continue;
          const value = numeric && ev.event_type === 'video.watched' ? Number(p.seconds ?? 0) : 1;
          // Every user's history, exposed or not yet: CUPED reads the days before exposure.
          await addMetricDay(trx, p.user_id, e.metric, p.timestamp ?? new Date().toISOString(), value);
          const a = await trx.selectFrom('experiment_assignments').select('variant').where('experiment_key', '=', key).where('user_id', '=', p.user_id).executeTakeFirst();
          if (!a) continue;
          await trx
            .insertInto('experiment_conversions')
            .values({ id: uuidv7(), experiment_key: key, user_id: p.user_id, variant: a.variant, metric: e.metric, value, created_at: p.timestamp ?? new Date().toISOString() })
            .execute();
        }
      },
    },
    c.logger.child({ component: 'feed-experiment' }),
  );
}

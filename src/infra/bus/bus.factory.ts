// Picks the event-bus adapter from the config: Kafka when KAFKA_BROKERS is set, else in-process.
// The topics are the product's (src/events/events.types.ts); the composition root passes them in.
import type { Config } from '../../config.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './bus.js';
import { KafkaBus } from './kafka.bus.js';
import { MemoryBus } from './memory.bus.js';

/** `topics`: every topic the product publishes to, created on Kafka when missing. */
export function createEventBus(config: Config, logger: Logger, topics: readonly string[]): EventBus {
  if (config.kafkaBrokers) {
    return new KafkaBus({ brokers: config.kafkaBrokers, topicPrefix: config.kafkaTopicPrefix, topics: [...topics], kafka: config.kafka, logger: logger.child({ component: 'kafka' }) });
  }
  return new MemoryBus();
}

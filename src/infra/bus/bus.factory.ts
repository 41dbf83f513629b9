// Picks the event-bus adapter from the config: Kafka when KAFKA_BROKERS is set, else in-process.
import type { Config } from '../../config.js';
import { TOPICS } from '../../events/events.types.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './bus.js';
import { KafkaBus } from './kafka.bus.js';
import { MemoryBus } from './memory.bus.js';

export function createEventBus(config: Config, logger: Logger): EventBus {
  if (config.kafkaBrokers) {
    return new KafkaBus({ brokers: config.kafkaBrokers, topicPrefix: config.kafkaTopicPrefix, topics: [...TOPICS], kafka: config.kafka, logger: logger.child({ component: 'kafka' }) });
  }
  return new MemoryBus();
}

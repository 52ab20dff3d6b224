import type { TransportKind } from '../interfaces/quit-options.interface.js';
import { natsSubscriptions, rmqChannel, type RpcStrategy } from './rpc.internals.js';

/** Stops one broker transport from taking new messages; the handlers in flight go on. */
export type RpcIntake = (strategy: RpcStrategy) => void | Promise<void>;

/**
 * How each broker transport stops taking messages, with its own client's API. What
 * follows the stop is the same for all (`RpcDrainer`): wait for the handlers in flight,
 * whose replies still go out on the open connections, and let Nest close them after.
 *
 * Only Redis is run against a real broker by the tests. NATS, MQTT, Kafka and RabbitMQ
 * use the documented client calls below but have not been run here.
 */
export const intakes: Partial<Record<TransportKind, RpcIntake>> = {
  /**
   * Redis pub/sub delivers a request to every subscriber; once this one has unsubscribed
   * the other replicas still get it. The reply goes out on the separate publisher
   * connection, which stays open.
   */
  async redis(strategy) {
    const [, sub] = unwrap<[unknown, { unsubscribe(): Promise<unknown>; punsubscribe(): Promise<unknown> }]>(strategy) ?? [];
    if (sub) await Promise.all([sub.unsubscribe(), sub.punsubscribe()]);
  },
  /** What Nest's own `gracefulShutdown` for NATS does first; a queue group then hands the messages to its other members. */
  nats(strategy) {
    for (const sub of natsSubscriptions(strategy)) sub.unsubscribe();
  },
  /** mqtt.js `unsubscribe(topics)`: the patterns Nest subscribed to are the handlers' patterns. */
  async mqtt(strategy) {
    const client = unwrap<{ unsubscribe(topics: string[], cb: (err?: Error) => void): void }>(strategy);
    const topics = patterns(strategy);
    if (client && topics.length) await new Promise<void>((resolve) => client.unsubscribe(topics, () => resolve()));
  },
  /** kafkajs `consumer.pause(topics)`: no more fetches; `eachMessage` calls in flight finish and commit. */
  kafka(strategy) {
    const consumer = unwrap<{ consumer?: { pause(topics: Array<{ topic: string }>): void } }>(strategy)?.consumer;
    const topics = patterns(strategy);
    if (consumer && topics.length) consumer.pause(topics.map((topic) => ({ topic })));
  },
  /**
   * amqp-connection-manager (4.1+) `ChannelWrapper#cancel(consumerTag)`: only possible when
   * the app names its consumer (the `consumerTag` option), since Nest discards the tag
   * that `consume()` generates. Otherwise the consumer ends when Nest closes the channel,
   * and until then new messages are handled, and counted, like the rest; with
   * `noAck: false` the ones not yet acknowledged go back to the queue at that close.
   */
  async rmq(strategy) {
    const tag = (strategy as { options?: { consumerTag?: string } }).options?.consumerTag;
    const channel = rmqChannel(strategy);
    if (tag && channel) await channel.cancel(tag);
  },
};

/** The strategy's underlying client, or undefined when it is not listening (`unwrap()` throws then). */
function unwrap<T>(strategy: RpcStrategy): T | undefined {
  try {
    return strategy.unwrap?.<T>();
  } catch {
    return undefined;
  }
}

function patterns(strategy: RpcStrategy): string[] {
  const handlers = (strategy as { getHandlers?(): Map<string, unknown> }).getHandlers?.();
  return handlers ? [...handlers.keys()] : [];
}

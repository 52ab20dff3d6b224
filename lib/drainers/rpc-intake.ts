import type { TransportKind } from '../interfaces/quit-options.interface.js';
import { handlerPatterns, natsSubscriptions, unwrapClient, type KafkaConsumer, type RpcStrategy } from '../internals/nest-microservices.js';

/**
 * Stops one broker transport from taking new messages; the handlers in flight go on.
 * `warn` says once that a step could not be taken (a field of the strategy moved).
 */
export type RpcIntake = (strategy: RpcStrategy, warn: (message: string) => void) => void | Promise<void>;

/**
 * How each broker transport stops taking messages, with its own client's graceful call.
 * What follows the stop is the same for all (`RpcDrainer`): wait for the handlers in
 * flight, whose replies still go out on the open connections, and let Nest close them
 * after. RabbitMQ has its own drainer (`RmqDrainer`): its replies are confirmed by the
 * broker, and the drain waits for that too.
 *
 * Run against real brokers by the tests (test/transports.e2e-spec.ts): Redis, NATS, MQTT.
 * Kafka is only read (kafkajs 2.2.4, Nest's `ServerKafka`): no broker here.
 */
export const intakes: Partial<Record<TransportKind, RpcIntake>> = {
  /**
   * Redis pub/sub delivers a request to every subscriber; once this one has unsubscribed
   * the other replicas still get it. The reply goes out on the separate publisher
   * connection, which stays open.
   */
  async redis(strategy, warn) {
    // `[publisher, subscriber]`
    const clients = unwrapClient<unknown>(strategy);
    const sub = (Array.isArray(clients) ? clients[1] : undefined) as { unsubscribe(): Promise<unknown>; punsubscribe(): Promise<unknown> } | undefined;
    if (typeof sub?.unsubscribe !== 'function' || typeof sub.punsubscribe !== 'function') return warn('ServerRedis#unwrap() gave no subscriber client: intake not stopped');
    await Promise.all([sub.unsubscribe(), sub.punsubscribe()]);
  },
  /**
   * `sub.drain()`: the server stops routing to this subscriber, and every message it had
   * already routed here is still delivered to the handler (`unsubscribe()` would drop
   * them, and nobody would handle them); a queue group hands the next ones to its other
   * members. Resolves once the server confirmed.
   */
  async nats(strategy, warn) {
    const subs = natsSubscriptions(strategy);
    if (!subs) return warn('ServerNats#subscriptions not found: intake not stopped');
    await Promise.all(
      subs.filter((sub) => !sub.isClosed?.()).map((sub) => (typeof sub.drain === 'function' ? sub.drain() : sub.unsubscribe())),
    );
  },
  /**
   * mqtt.js `unsubscribe(topics)`: the patterns Nest subscribed to are the handlers'
   * patterns (`$share/<group>/<topic>` ones included). What the broker sent before its
   * UNSUBACK arrives before it and is handled.
   */
  async mqtt(strategy, warn) {
    const client = unwrapClient<{ unsubscribe?(topics: string[], cb: (err?: Error) => void): void }>(strategy);
    if (typeof client?.unsubscribe !== 'function') return warn('ServerMqtt#unwrap() gave no MQTT client: intake not stopped');
    const topics = handlerPatterns(strategy);
    if (topics.length) {
      await new Promise<void>((resolve, reject) => client.unsubscribe!(topics, (err) => (err ? reject(err) : resolve())));
    }
  },
  /**
   * kafkajs `consumer.pause(topics)`: no more fetches, and the rest of a fetched batch is
   * not processed (its offsets are not committed, so the group hands it to another
   * member); the `eachMessage` calls in flight finish, and Nest's `close()` then
   * disconnects the consumer, which commits what was handled. Read, not run.
   */
  kafka(strategy, warn) {
    const unwrapped = unwrapClient<unknown[]>(strategy);
    const consumer = (Array.isArray(unwrapped) ? unwrapped[1] : undefined) as KafkaConsumer | undefined;
    if (typeof consumer?.pause !== 'function') return warn('ServerKafka#unwrap() gave no consumer: intake not stopped');
    const topics = handlerPatterns(strategy);
    if (topics.length) consumer.pause(topics.map((topic) => ({ topic })));
  },
};

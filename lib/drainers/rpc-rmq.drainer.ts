import { errorMessage } from '../errors/error-message.js';
import { consumerTagsOf, followPublishes, isAmqpChannel, rawChannelOf, type AmqpChannel } from '../internals/amqp.js';
import { rmqChannelWrapper, tapRmqSetup, type RpcStrategy } from '../internals/nest-microservices.js';
import { sleep } from '../pipeline/timing.js';
import { RpcDrainer } from './rpc.drainer.js';

/** How often the drain looks whether the broker has confirmed the last replies. */
const CONFIRM_POLL_MS = 5;

/**
 * Drains a Nest RabbitMQ microservice (`Transport.RMQ`). Nest consumes on the raw amqplib
 * channel inside the `ChannelWrapper`'s `setup`, so that is where the consumer is
 * cancelled:
 *
 * - intake: `basic.cancel` for each consumer on the raw channel (its tag from the
 *   `consume` reply, so the app need not name it); the broker then delivers nothing more
 *   here, and what it had delivered before its `cancel-ok` is handled like the rest. A
 *   reconnect during the drain does not consume again.
 * - `noAck: false`: messages delivered and not acknowledged when the channel closes go
 *   back to the queue for another replica (the broker's own rule); `noAck: true`: every
 *   delivered message is handled before the exit.
 * - the drain is over when no handler runs and the broker has confirmed every reply
 *   (`ChannelWrapper` rejects the unconfirmed ones when Nest closes it; such a loss is
 *   logged and counted in the report, never an unhandled rejection).
 */
export class RmqDrainer extends RpcDrainer {
  /** Consumer tags by raw channel, from `consume`'s replies. */
  private readonly consumers = new Map<AmqpChannel, Set<string>>();
  private stopped = false;
  private forced = false;
  private publishes?: { readonly pending: number };
  private lostReplies = 0;

  constructor(strategy: RpcStrategy, closeNow: () => Promise<unknown>, label = 'rmq') {
    super(strategy, 'rmq', closeNow, undefined, label);
    if (!tapRmqSetup(strategy, (channel) => this.onSetup(channel))) {
      this.warn('ServerRMQ#setupChannel not found: consumer tags come from the channel, reconnects during the drain consume again');
    }
  }

  override stopIntake(): Promise<void> {
    return this.stopBrokerIntake(() => this.cancelConsumers());
  }

  override async drain(): Promise<void> {
    await super.drain();
    // The replies of the last handlers are queued in the ChannelWrapper: wait for the broker's confirms.
    while (!this.forced && (this.publishes?.pending ?? 0) > 0) await sleep(CONFIRM_POLL_MS);
  }

  override async forceClose(): Promise<void> {
    this.forced = true;
    await super.forceClose();
  }

  override pending(): string[] {
    const parts = [this.inFlight('message')];
    const unconfirmed = this.publishes?.pending ?? 0;
    if (unconfirmed) parts.push(`${unconfirmed} repl(ies) not confirmed by the broker`);
    if (this.lostReplies) parts.push(`${this.lostReplies} repl(ies) lost`);
    if (this.intakeNotConfirmed) parts.push('consumer cancel not confirmed');
    return [`${this.name}: ${parts.join(', ')}`];
  }

  private onSetup(channel: Record<string, unknown>): void {
    this.follow();
    const consume = channel.consume;
    if (typeof consume !== 'function' || !isAmqpChannel(channel)) return;
    const raw: AmqpChannel = channel;
    const tags = new Set<string>();
    this.consumers.set(raw, tags);
    raw.once?.('close', () => this.consumers.delete(raw));
    const drainer = this;
    channel.consume = function (this: unknown, ...args: unknown[]) {
      // A reconnect's setup while draining: no new consumer (Nest only logs the reply).
      if (drainer.stopped) return Promise.resolve({ consumerTag: '' });
      const reply = (consume as (...a: unknown[]) => Promise<{ consumerTag?: string }>).apply(this, args);
      reply.then(
        (ok) => ok?.consumerTag && tags.add(ok.consumerTag),
        () => undefined,
      );
      return reply;
    };
  }

  private follow(): void {
    const wrapper = rmqChannelWrapper(this.strategy);
    if (!wrapper || this.publishes) return;
    this.publishes = followPublishes(wrapper, (error) => {
      this.lostReplies++;
      this.logger?.warn(`${this.name}: a reply was not confirmed by the broker: ${errorMessage(error)}`);
    });
    if (!this.publishes) this.warn('ChannelWrapper#sendToQueue not found: the drain does not wait for the broker to confirm the replies');
  }

  private async cancelConsumers(): Promise<void> {
    this.stopped = true;
    const wrapper = rmqChannelWrapper(this.strategy);
    if (wrapper === undefined) return this.warn('ServerRMQ#channel not found: consumer not cancelled');
    if (wrapper === null) return; // never connected: nothing consumes
    this.follow();
    const channel = rawChannelOf(wrapper);
    // Not connected now: the broker has ended the consumer, and the setup will not consume again.
    if (!channel) return;
    let tags = [...(this.consumers.get(channel) ?? [])];
    if (!tags.length) tags = consumerTagsOf(channel) ?? [];
    if (!tags.length) return this.warn('no consumer tag found on the channel: consumer not cancelled');
    await Promise.all(tags.map((tag) => channel.cancel(tag)));
  }
}

/**
 * Every reach past the public API of `amqp-connection-manager` and `amqplib`, read in
 * amqp-connection-manager 5.0.0 (`dist/esm/ChannelWrapper.js`) and amqplib 2.3.1
 * (`lib/channel.js`, `lib/channel_model.js`). Each is probed: a field that moved gives
 * undefined, and the RabbitMQ drain warns and loses that one step.
 *
 * Structural types only: both are optional dependencies of the app, never imported here.
 */

/** What the drain uses of a raw amqplib channel (public API: `consume` resolves with `{ consumerTag }`). */
export interface AmqpChannel {
  cancel(consumerTag: string): Promise<unknown>;
  once?(event: 'close', listener: () => void): unknown;
}

export function isAmqpChannel(value: unknown): value is AmqpChannel {
  return typeof value === 'object' && value !== null && typeof (value as AmqpChannel).cancel === 'function';
}

/**
 * The raw amqplib channel a `ChannelWrapper` wraps now (its private `_channel`): the one
 * Nest's `setup` consumed on. Undefined when the field is gone or the wrapper is not
 * connected.
 */
export function rawChannelOf(wrapper: object): AmqpChannel | undefined {
  const channel = (wrapper as { _channel?: unknown })._channel;
  return isAmqpChannel(channel) ? channel : undefined;
}

/** The consumer tags registered on a raw amqplib channel (its private `consumers` map); undefined when the field is gone. */
export function consumerTagsOf(channel: AmqpChannel): string[] | undefined {
  const consumers = (channel as { consumers?: unknown }).consumers;
  return consumers instanceof Map ? [...consumers.keys()].filter((tag): tag is string => typeof tag === 'string') : undefined;
}

/**
 * Follows every `sendToQueue()` / `publish()` made through a `ChannelWrapper` (public
 * methods, replaced on the instance): each returns a promise that settles when the broker
 * confirms the message, and rejects with "Channel closed" when the wrapper closes first.
 * Nest sends its replies without looking at that promise, so a close with replies still
 * queued was an unhandled rejection that killed the process; here every such promise has
 * a handler (`onLost`), and `pending` tells how many are not yet confirmed. Idempotent.
 */
export function followPublishes(wrapper: object, onLost: (error: unknown) => void): { readonly pending: number } | undefined {
  const marked = wrapper as { [FOLLOWED]?: { pending: number } } & Record<string, unknown>;
  if (marked[FOLLOWED]) return marked[FOLLOWED];
  if (typeof marked.sendToQueue !== 'function' || typeof marked.publish !== 'function') return undefined;
  const state = { pending: 0 };
  for (const method of ['sendToQueue', 'publish'] as const) {
    const original = marked[method] as (...args: unknown[]) => unknown;
    marked[method] = function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (result instanceof Promise) {
        state.pending++;
        result.then(
          () => state.pending--,
          (error: unknown) => {
            state.pending--;
            onLost(error);
          },
        );
      }
      return result;
    };
  }
  marked[FOLLOWED] = state;
  return state;
}

const FOLLOWED = Symbol('nestjs-quit.followed');

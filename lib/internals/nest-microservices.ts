/**
 * Every reach past the public API of `@nestjs/microservices`, read in 12.1.1
 * (`server/server.js`, `server-grpc.js`, `server-tcp.js`, `server-nats.js`, `server-rmq.js`,
 * `server-mqtt.js`, `server-redis.js`, `server-kafka.js`, `helpers/tcp-socket.js`) and
 * 11.2.6 (the processing hook slots; 11.1.4 and 12.0.1 for `ServerTCP` without `openSockets`),
 * and the RPC target registry of @nestjs/core's `ModulesContainer` (12.5.1, 11.2.10). Every
 * reach is probed and degrades to "not found" (undefined, false, an empty list) rather
 * than throwing; the drainer then warns once and loses that one step, never the shutdown.
 *
 * The types are structural on purpose: the package is an optional peer, so nothing here
 * may import it, not even its types.
 */
import type { TransportKind } from '../interfaces/quit-options.interface.js';
import type { GrpcJsServer } from './grpc-js.js';

/**
 * The values of Nest's `Transport` enum (stable since Nest 6), written out because the
 * package must not be imported; a custom strategy's `transportId` is a symbol or absent.
 */
const NEST_TRANSPORTS: Readonly<Record<number, TransportKind>> = { 0: 'tcp', 1: 'redis', 2: 'nats', 3: 'mqtt', 4: 'grpc', 5: 'rmq', 6: 'kafka' };

/** Which of Nest's built-in transports a strategy is (its `transportId`); undefined for a custom one. */
export function nestTransportOf(strategy: RpcStrategy): TransportKind | undefined {
  return typeof strategy.transportId === 'number' ? NEST_TRANSPORTS[strategy.transportId] : undefined;
}

/** What the drainers use of a Nest microservice server strategy (`Server` and its subclasses). */
export interface RpcStrategy {
  transportId?: number | symbol;
  close(): unknown;
  unwrap?<T>(): T;
  on?(event: string, callback: (...args: any[]) => void): unknown;
}

/**
 * Calls `onTarget` once for every microservice server strategy of the app: Nest emits
 * each one, hybrid (`connectMicroservice`) and standalone (`createMicroservice`), on the
 * modules container's RPC target registry (`ModulesContainer#getRpcTargetRegistry()`,
 * @nestjs/core 11.1.4+), a `ReplaySubject`: the ones created before the call are replayed
 * at once, one connected later arrives then. Does nothing when the registry is not there.
 */
export function onRpcTargets(modules: unknown, onTarget: (strategy: RpcStrategy) => void): void {
  const registry = (modules as { getRpcTargetRegistry?(): { subscribe?(next: (target: unknown) => void): unknown } } | null)?.getRpcTargetRegistry?.();
  if (typeof registry?.subscribe !== 'function') return;
  const seen = new WeakSet<object>();
  registry.subscribe((target) => {
    if (!isStrategy(target) || seen.has(target)) return;
    seen.add(target);
    onTarget(target);
  });
}

function isStrategy(target: unknown): target is RpcStrategy {
  return typeof target === 'object' && target !== null && typeof (target as RpcStrategy).close === 'function';
}

/**
 * The port in a strategy's options (the protected `Server#options`, which every built-in
 * server keeps), for its name in the report; undefined when there is none.
 */
export function rpcOptionsPort(strategy: RpcStrategy): number | string | undefined {
  const options = (strategy as { options?: unknown }).options;
  const port = typeof options === 'object' && options !== null ? (options as { port?: unknown }).port : undefined;
  return typeof port === 'number' || typeof port === 'string' ? port : undefined;
}

/** Called when a message handler starts; returns the function that marks its end. */
export type HandlerTap = (context: unknown) => () => void;

type ProcessingRunner = (
  context: unknown,
  fn: (runEndHook: () => void) => Promise<void>,
  endHookContext?: unknown,
) => unknown;

/**
 * Makes `tap` see every message handler the strategy runs, whatever the transport:
 * Nest 12's `Server#runWithProcessingHooks` (protected) wraps every request, event and
 * gRPC call between the processing start and end hooks, and runs the end exactly once,
 * when the handler's response stream settles. Wrapping it on the instance, rather than
 * taking the public `setOnProcessingStartHook` slot, leaves that slot to the user
 * (OpenTelemetry instrumentations use it). Nest 11 has no such method: see
 * `tapHookSlots`. Returns false when neither seam exists: the drainer then cannot count
 * work in flight.
 */
export function tapHandlers(strategy: RpcStrategy, tap: HandlerTap): boolean {
  const target = strategy as unknown as { runWithProcessingHooks?: ProcessingRunner };
  const original = target.runWithProcessingHooks;
  if (typeof original !== 'function') return tapHookSlots(strategy, tap);
  target.runWithProcessingHooks = function (this: unknown, context, fn, endHookContext = context) {
    return original.call(
      this,
      context,
      async (runEndHook) => {
        const end = tap(context);
        try {
          await fn(() => {
            runEndHook();
            end();
          });
        } catch (error) {
          end();
          throw error;
        }
      },
      endHookContext,
    );
  };
  return true;
}

type StartHook = (transportId: unknown, context: unknown, done: () => Promise<unknown>) => unknown;
type EndHook = (transportId: unknown, context: unknown) => void;

/**
 * Nest 11 (read in @nestjs/microservices 11.2.6) has no `runWithProcessingHooks`: each
 * transport calls the `onProcessingStartHook` / `onProcessingEndHook` slots itself, the
 * end one once per reply packet, and gRPC with `call.request` as the end's context where
 * the start had a copy of the call. So a start is matched to its end by context (for
 * gRPC by its `request`) and counted out once. The slots become accessors, so a hook the
 * user sets later (`setOnProcessingStartHook`) is chained, not lost.
 */
function tapHookSlots(strategy: RpcStrategy, tap: HandlerTap): boolean {
  const slots = strategy as unknown as { onProcessingStartHook?: StartHook; onProcessingEndHook?: EndHook };
  let userStart = slots.onProcessingStartHook;
  let userEnd = slots.onProcessingEndHook;
  if (typeof userStart !== 'function') return false;
  const open = new Map<unknown, () => void>();
  const key = (context: unknown) => (context as { request?: unknown } | null)?.request ?? context;
  const start: StartHook = (transportId, context, done) =>
    userStart!(transportId, context, () => {
      const k = key(context);
      open.get(k)?.(); // a key seen twice: the first one has ended
      const ended = tap(context);
      open.set(k, ended);
      // A handler that rejects before replying never reaches the end hook.
      return done().catch((error: unknown) => {
        if (open.get(k) === ended) open.delete(k);
        ended();
        throw error;
      });
    });
  const end: EndHook = (transportId, context) => {
    const ended = open.get(context);
    open.delete(context);
    ended?.();
    userEnd?.(transportId, context);
  };
  Object.defineProperty(slots, 'onProcessingStartHook', { configurable: true, get: () => start, set: (h: StartHook) => (userStart = h) });
  Object.defineProperty(slots, 'onProcessingEndHook', { configurable: true, get: () => end, set: (h: EndHook) => (userEnd = h) });
  return true;
}

/** The grpc-js server of a Nest `ServerGrpc` (the protected `grpcClient`), once it listens. */
export function grpcServerOf(strategy: RpcStrategy): GrpcJsServer | undefined {
  const server = (strategy as { grpcClient?: GrpcJsServer | null }).grpcClient;
  return server && typeof server.tryShutdown === 'function' ? server : undefined;
}

/**
 * Tells a Nest `ServerTCP` that its listening socket is closed on purpose: otherwise,
 * with `retryAttempts` set, its `close` listener would listen again.
 */
export function markTcpClosing(strategy: RpcStrategy): void {
  const tcp = strategy as { isManuallyTerminated?: boolean };
  if (typeof tcp.isManuallyTerminated === 'boolean') tcp.isManuallyTerminated = true;
}

/**
 * The amqp-connection-manager `ChannelWrapper` of a Nest `ServerRMQ` (the protected
 * `channel`): undefined when the field is gone, null before the first connect.
 */
export function rmqChannelWrapper(strategy: RpcStrategy): object | null | undefined {
  if (!('channel' in (strategy as object))) return undefined;
  const channel = (strategy as { channel?: object | null }).channel;
  return typeof channel === 'object' ? channel : undefined;
}

/**
 * Sees every raw amqplib channel a Nest `ServerRMQ` sets up, before it consumes on it:
 * Nest consumes inside the `ChannelWrapper`'s `setup`, through its protected
 * `setupChannel(channel, callback)`, which the setup looks up on the instance each time
 * (so a reconnect's setup is seen too, even when tapped after `listen()`). `onSetup`
 * may replace the channel's `consume`. False when the method is gone.
 */
export function tapRmqSetup(strategy: RpcStrategy, onSetup: (channel: Record<string, unknown>) => void): boolean {
  const target = strategy as unknown as { setupChannel?: (channel: Record<string, unknown>, callback: () => void) => unknown };
  const original = target.setupChannel;
  if (typeof original !== 'function') return false;
  target.setupChannel = function (this: unknown, channel, callback) {
    if (channel && typeof channel === 'object') onSetup(channel);
    return original.call(this, channel, callback);
  };
  return true;
}

/** What the NATS drain uses of a `@nats-io` subscription (public API). */
export interface NatsSubscription {
  drain?(): Promise<void>;
  unsubscribe(): void;
  isClosed?(): boolean;
}

/** The subscriptions of a Nest `ServerNats` (the protected `subscriptions`); undefined when the field is gone. */
export function natsSubscriptions(strategy: RpcStrategy): NatsSubscription[] | undefined {
  const subs = (strategy as { subscriptions?: NatsSubscription[] }).subscriptions;
  return Array.isArray(subs) ? subs : undefined;
}

/** The strategy's underlying client (public `unwrap()`), or undefined when it is not listening (`unwrap()` throws then). */
export function unwrapClient<T>(strategy: RpcStrategy): T | undefined {
  try {
    return strategy.unwrap?.<T>();
  } catch {
    return undefined;
  }
}

/** The patterns of the strategy's handlers (public `getHandlers()`): the topics MQTT and Kafka subscribed to. */
export function handlerPatterns(strategy: RpcStrategy): string[] {
  const handlers = (strategy as { getHandlers?(): Map<string, unknown> }).getHandlers?.();
  return handlers instanceof Map ? [...handlers.keys()] : [];
}

/** What the Kafka drain uses of a kafkajs `Consumer` (public API, kafkajs 2.2.4). */
export interface KafkaConsumer {
  pause(topics: Array<{ topic: string }>): void;
}

/** A TCP message's net socket, from the `TcpContext` Nest gives its handler (public `getSocketRef()`, then `TcpSocket#netSocket`). */
export function tcpNetSocketOf(context: unknown): import('node:net').Socket | undefined {
  const ref = (context as { getSocketRef?(): { netSocket?: import('node:net').Socket } } | null)?.getSocketRef?.();
  return ref?.netSocket;
}

type TcpHandleMessage = (socket: { netSocket?: import('node:net').Socket }, message: unknown) => Promise<unknown>;
type TcpHandleRequest = (context: unknown, produce: () => unknown, respond: (packet: unknown) => unknown) => unknown;

/**
 * Wraps a Nest `ServerTCP`'s `handleMessage(socket, raw)` (public in the class, called for
 * every frame read, before it is deserialized). `read` sees each frame from the moment it
 * is read until its `handleMessage` settles; `admit` says whether a request may start
 * (false: it is dropped unanswered, and the client fails it when the connection closes;
 * events always run, they need no reply). Where the request is told from the event:
 * Nest 12's `handleRequest` (after deserializing, exact); Nest 11 (read in 11.2.6) has no
 * such method, so there the raw frame's `id` decides (exact with Nest's own serializer).
 * False when `handleMessage` is gone.
 */
export function tapTcpMessages(
  strategy: RpcStrategy,
  read: (socket: import('node:net').Socket) => () => void,
  admit: (socket: import('node:net').Socket) => boolean,
): boolean {
  const target = strategy as unknown as { handleMessage?: TcpHandleMessage; handleRequest?: TcpHandleRequest };
  const handleMessage = target.handleMessage;
  const handleRequest = target.handleRequest;
  if (typeof handleMessage !== 'function') return false;
  const exact = typeof handleRequest === 'function';
  target.handleMessage = function (this: unknown, socket, message) {
    const net = socket?.netSocket;
    if (!exact && net && !admit(net) && (message as { id?: unknown } | null)?.id !== undefined) return Promise.resolve();
    const done = net ? read(net) : undefined;
    const run = handleMessage.call(this, socket, message);
    if (done) void Promise.resolve(run).then(done, done);
    return run;
  };
  if (exact) {
    target.handleRequest = function (this: unknown, context, produce, respond) {
      const net = tcpNetSocketOf(context);
      if (net && !admit(net)) return undefined;
      return handleRequest.call(this, context, produce, respond);
    };
  }
  return true;
}

/** The sockets a Nest `ServerTCP` has accepted and not yet seen close (its protected `openSockets`, 12.x); empty when the field is gone. */
export function tcpOpenSockets(strategy: RpcStrategy): import('node:net').Socket[] {
  const open = (strategy as { openSockets?: unknown }).openSockets;
  return open instanceof Set ? [...open].filter((s): s is import('node:net').Socket => typeof (s as { pause?: unknown })?.pause === 'function') : [];
}

/**
 * The sockets of the app's own `ClientTCP` clients (the protected `socket`, a `TcpSocket`,
 * and its `netSocket`), found among the providers of every module (`ClientsModule`
 * registers each client as a provider): a server-side connection whose peer is one of
 * them is the app calling itself. A client built outside the container is not seen.
 */
export function ownTcpClientSockets(modules: unknown): import('node:net').Socket[] {
  const sockets: import('node:net').Socket[] = [];
  if (!(modules instanceof Map)) return sockets;
  for (const module of modules.values()) {
    const providers = (module as { providers?: unknown }).providers;
    if (!(providers instanceof Map)) continue;
    for (const wrapper of providers.values()) {
      const instance = (wrapper as { instance?: unknown } | null)?.instance as { routingMap?: unknown; socket?: { netSocket?: unknown } } | null;
      if (!instance || typeof instance !== 'object' || !(instance.routingMap instanceof Map)) continue;
      const net = instance.socket?.netSocket as import('node:net').Socket | undefined;
      if (net && typeof net.localPort === 'number') sockets.push(net);
    }
  }
  return sockets;
}

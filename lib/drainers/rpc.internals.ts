/**
 * The one place where the microservice drainers reach past the public API of
 * `@nestjs/microservices` and `@grpc/grpc-js`. Read from @nestjs/microservices 12.1.1
 * (`server/server.js`, `server-grpc.js`, `server-tcp.js`, `server-nats.js`, `server-rmq.js`) and
 * @grpc/grpc-js 1.14.7 (`src/server.ts`). Every reach degrades to "not found" rather
 * than throwing, so a moved field costs a drain step, never a shutdown.
 *
 * The types are structural on purpose: both packages are optional peers, so nothing
 * here may import them, not even their types.
 */

/** What the drainers use of a Nest microservice server strategy (`Server` and its subclasses). */
export interface RpcStrategy {
  transportId?: number | symbol;
  close(): unknown;
  unwrap?<T>(): T;
  on?(event: string, callback: (...args: any[]) => void): unknown;
}

/** What the gRPC drainer uses of a grpc-js `Server`. */
export interface GrpcJsServer {
  tryShutdown(callback: (error?: Error) => void): void;
  forceShutdown(): void;
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

/** The ports a grpc-js server is bound to (its private `boundPorts`), for the drainer's name. */
export function grpcPorts(server: GrpcJsServer): number[] {
  const bound = (server as { boundPorts?: Map<string, { portNumber?: number }> }).boundPorts;
  return bound instanceof Map ? [...bound.values()].map((p) => p.portNumber ?? 0).filter((p) => p > 0) : [];
}

/** How many HTTP/2 sessions (client connections) a grpc-js server has open (its private `sessions`). */
export function grpcSessionCount(server: GrpcJsServer): number {
  const sessions = (server as { sessions?: Map<unknown, unknown> }).sessions;
  return sessions instanceof Map ? sessions.size : 0;
}

/**
 * Tells a Nest `ServerTCP` that its listening socket is closed on purpose: otherwise,
 * with `retryAttempts` set, its `close` listener would listen again.
 */
export function markTcpClosing(strategy: RpcStrategy): void {
  const tcp = strategy as { isManuallyTerminated?: boolean };
  if (typeof tcp.isManuallyTerminated === 'boolean') tcp.isManuallyTerminated = true;
}

/** The amqp-connection-manager channel of a Nest `ServerRMQ` (a protected field), when it can cancel a consumer. */
export function rmqChannel(strategy: RpcStrategy): { cancel(consumerTag: string): Promise<unknown> } | undefined {
  const channel = (strategy as { channel?: { cancel?: unknown } | null }).channel;
  return channel && typeof channel.cancel === 'function' ? (channel as { cancel(tag: string): Promise<unknown> }) : undefined;
}

/** The subscriptions of a Nest `ServerNats` (a protected field). */
export function natsSubscriptions(strategy: RpcStrategy): Array<{ unsubscribe(): void }> {
  const subs = (strategy as { subscriptions?: Array<{ unsubscribe(): void }> }).subscriptions;
  return Array.isArray(subs) ? subs : [];
}

/**
 * The one place where the gateway drainers reach past the public API of `@nestjs/core` and
 * `@nestjs/websockets`. Read from @nestjs/core 12.5.1, @nestjs/websockets,
 * @nestjs/platform-ws and @nestjs/platform-socket.io 12.1.1 (`socket-module.js`,
 * `socket-server-provider.js`, `web-sockets-controller.js`, `adapters/*.js`). Nest 11 only
 * by reading its sources (nestjs/nest `packages/websockets`, CJS era): the same
 * `ApplicationConfig#getIoAdapter()` read by `SocketModule` and `SocketServerProvider`, the
 * same `adapter.create(port, options)`, and `WebSocketsController#subscribeMessages` calling
 * `adapter.bindMessageHandlers(client, handlers, transform)` with the same transform.
 * An adapter that binds handlers some other way (not per client) is left alone: its
 * handlers are not counted.
 *
 * Every reach is feature-probed: a missing field or method returns false / nothing, and
 * the caller warns; a moved field costs the drain of a gateway, never a shutdown.
 * The types are structural on purpose: the websockets packages are optional.
 */
import type { ModulesContainer } from '@nestjs/core';
import { finalize, isObservable, type Observable } from 'rxjs';

/** A message handler as Nest's `WebSocketsController` hands them to the adapter. */
interface MessageHandler {
  message: unknown;
  callback: (...args: unknown[]) => unknown;
  isAckHandledManually?: boolean;
}

type Transform = (data: unknown) => unknown;

/** What the drainers use of a Nest WebSocket adapter (`AbstractWsAdapter` and its subclasses). */
export interface NestWsAdapter {
  create(port: number, options?: Record<string, unknown>): unknown;
  bindMessageHandlers(client: unknown, handlers: MessageHandler[], transform: Transform): unknown;
  /** The HTTP server the adapter was built with (`AbstractWsAdapter#httpServer`, public). */
  httpServer?: unknown;
}

/**
 * Called when a gateway message is about to start its handler on `client`. Returns the
 * function that marks its end (called once its reply is written), `false` when the
 * handler must not start (the connection said goodbye), or `undefined` when the client
 * is not followed.
 */
export type MessageTap = (client: object) => (() => void) | false | undefined;

interface ApplicationConfigLike {
  getIoAdapter(): unknown;
}

/** The app's `ApplicationConfig` (the container's `applicationConfig`, not injectable). */
function applicationConfigOf(modules: ModulesContainer): ApplicationConfigLike | undefined {
  for (const moduleRef of modules.values()) {
    const config = (moduleRef as unknown as { container?: { applicationConfig?: Partial<ApplicationConfigLike> } }).container?.applicationConfig;
    if (config && typeof config.getIoAdapter === 'function') return config as ApplicationConfigLike;
  }
  return undefined;
}

function isAdapter(value: unknown): value is NestWsAdapter {
  const v = value as Partial<NestWsAdapter> | null;
  return typeof v === 'object' && v !== null && typeof v.create === 'function' && typeof v.bindMessageHandlers === 'function';
}

const WATCHED = Symbol('nestjs-quit:io-adapter-watched');

/**
 * Calls `onAdapter` with the WebSocket adapter of the app as soon as Nest reads it. Gateways
 * are connected (and a gateway with a port of its own is listening) in `app.init()`
 * before any lifecycle hook, with the adapter `main.ts` set after the providers were
 * built, or the default `IoAdapter` Nest makes then: so the app's
 * `ApplicationConfig#getIoAdapter` is wrapped on the instance, from a provider's
 * constructor, and sees the adapter the first time Nest asks for it. False when that
 * seam is missing.
 */
export function watchIoAdapter(modules: ModulesContainer, onAdapter: (adapter: NestWsAdapter) => void): boolean {
  const config = applicationConfigOf(modules) as (ApplicationConfigLike & { [WATCHED]?: Set<(adapter: NestWsAdapter) => void> }) | undefined;
  if (!config) return false;
  let watchers = config[WATCHED];
  if (!watchers) {
    const seen = new WeakSet<object>();
    const original = config.getIoAdapter;
    const all = new Set<(adapter: NestWsAdapter) => void>();
    watchers = all;
    Object.defineProperty(config, WATCHED, { value: all });
    config.getIoAdapter = function (this: unknown) {
      const adapter = original.call(this);
      if (isAdapter(adapter) && !seen.has(adapter)) {
        seen.add(adapter);
        for (const watcher of all) watcher(adapter);
      }
      return adapter;
    };
  }
  watchers.add(onAdapter);
  // An adapter set already is seen now, through the wrapper.
  config.getIoAdapter();
  return true;
}

/**
 * Calls `onServer` with every server the adapter creates for a gateway, and the port it was
 * created for (0: the HTTP server's). `create` returns the `ws` server, the Socket.IO
 * server, or a Socket.IO namespace of one.
 */
export function tapServerCreation(adapter: NestWsAdapter, onServer: (server: unknown, port: number) => void): boolean {
  const original = adapter.create;
  if (typeof original !== 'function') return false;
  adapter.create = function (this: unknown, port, options) {
    const server = original.call(this, port, options);
    onServer(server, typeof port === 'number' ? port : Number(port) || 0);
    return server;
  };
  return true;
}

/**
 * The functions that claim the end of the handlers whose result is this object, in the
 * order they returned it, for the transform. Kept aside rather than on the result: a frozen result (an
 * `Object.freeze`d constant, an Immer draft) cannot take a property, and the same object
 * may be the result of several handlers at once.
 */
const claims = new WeakMap<object, Array<() => () => void>>();

function isClaimable(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/**
 * Makes `tap` see every gateway message handler the adapter runs, whatever the adapter:
 * Nest binds a connection's handlers with `adapter.bindMessageHandlers(client, handlers,
 * transform)` when it connects, each `callback` starts one handler, and the adapter turns
 * its result into the reply through `transform` (an Observable: the reply, or the ack, is
 * written when it emits). So a handler ends when that Observable is finished, after its
 * reply was written; a handler whose result never reaches `transform` (a custom adapter)
 * ends when its result settles. Wrapped on the instance, so only this app's adapter is
 * touched.
 */
export function tapMessageHandlers(adapter: NestWsAdapter, tap: MessageTap): boolean {
  const original = adapter.bindMessageHandlers;
  if (typeof original !== 'function') return false;
  adapter.bindMessageHandlers = function (this: unknown, client, handlers, transform) {
    if (!Array.isArray(handlers) || typeof transform !== 'function' || typeof client !== 'object' || client === null) {
      return original.call(this, client, handlers, transform);
    }
    const tapped = handlers.map((handler) => ({ ...handler, callback: tapCallback(client, handler.callback, tap) }));
    const tappedTransform: Transform = (data) => {
      const out = transform(data);
      const queue = isClaimable(data) ? claims.get(data) : undefined;
      if (!queue || !isObservable(out)) return out;
      // Nest's adapters hand a handler's result to `transform` as soon as it returns: the
      // newest claim on this object is that handler's.
      const claim = queue.pop()!;
      if (queue.length === 0) claims.delete(data as object);
      return (out as Observable<unknown>).pipe(finalize(claim()));
    };
    return original.call(this, client, tapped, tappedTransform);
  };
  return true;
}

function tapCallback(client: object, callback: MessageHandler['callback'], tap: MessageTap): MessageHandler['callback'] {
  return function (this: unknown, ...args: unknown[]) {
    const end = tap(client);
    // The connection said goodbye: the handler is not started, nothing is replied.
    if (end === false) return undefined;
    if (!end) return callback.apply(this, args);
    let ended = false;
    const once = () => {
      if (!ended) (ended = true), end();
    };
    let result: unknown;
    try {
      result = callback.apply(this, args);
    } catch (error) {
      once();
      throw error;
    }
    if (isClaimable(result)) {
      const owned = result;
      let claimed = false;
      const claim = () => {
        claimed = true;
        return once;
      };
      const queue = claims.get(owned);
      if (queue) queue.push(claim);
      else claims.set(owned, [claim]);
      // Nest's adapters call `transform` with the result at once; one that does not gets
      // the end when the result settles.
      queueMicrotask(() => {
        if (claimed) return;
        const left = claims.get(owned);
        const i = left ? left.indexOf(claim) : -1;
        if (i >= 0) left!.splice(i, 1);
        if (left && left.length === 0) claims.delete(owned);
        const then = (owned as { then?: unknown }).then;
        if (typeof then === 'function') (owned as Promise<unknown>).then(once, once);
        else once();
      });
    } else {
      setImmediate(once);
    }
    return result;
  };
}

/** `@WebSocketGateway()` classes carry it (`@nestjs/websockets` `GATEWAY_METADATA`). */
const GATEWAY_METADATA = 'websockets:is_gateway';

/**
 * Fallback when the adapter could not be watched: the servers the gateways hold in a
 * `@WebSocketServer()` property, and those `@nestjs/platform-ws`'s adapter keeps in its
 * `wsServersRegistry` (gateways on the HTTP server or on a shared port).
 */
export function knownGatewayServers(modules: ModulesContainer): { adapter?: NestWsAdapter; servers: unknown[] } {
  const found = new Set<unknown>();
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.providers.values()) {
      const { instance, metatype } = wrapper;
      if (!instance || typeof metatype !== 'function' || !Reflect.getMetadata(GATEWAY_METADATA, metatype)) continue;
      for (const value of Object.values(instance as object)) if (typeof value === 'object' && value !== null && typeof (value as { on?: unknown }).on === 'function') found.add(value);
    }
  }
  const adapter = applicationConfigOf(modules)?.getIoAdapter();
  const registry = (adapter as { wsServersRegistry?: unknown } | undefined)?.wsServersRegistry;
  if (registry instanceof Map) for (const servers of registry.values()) for (const server of Array.isArray(servers) ? servers : []) found.add(server);
  return { adapter: isAdapter(adapter) ? adapter : undefined, servers: [...found] };
}

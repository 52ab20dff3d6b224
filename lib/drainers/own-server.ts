import { Server as HttpServer } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import { Server as NetServer } from 'node:net';
import type { OnQuitOptions } from '../interfaces/quit-hook.interface.js';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { QuitMessages } from '../quit.messages.js';
import type { ResolvedQuitOptions } from '../quit.options.js';
import { GrpcDrainer } from './grpc.drainer.js';
import { HttpDrainer } from './http.drainer.js';
import { NetDrainer } from './net.drainer.js';
import type { GrpcJsServer } from '../internals/grpc-js.js';
import { GatewayDrainer } from './gateways/gateway.drainer.js';
import { isWsServer, rawWsKind } from './gateways/ws.gateway.js';

/**
 * A server the app made itself, which `quit.onQuit(server)` drains in the transports
 * phase rather than calling as a hook (Go's `RegisterQuitCloser(srv)`): a Node
 * `http` / `https` / `http2` server, a `net.Server` or `tls.Server`, a `ws`
 * `WebSocketServer`, or a `@grpc/grpc-js` `Server`.
 */
export type OwnServer = NetServer | { handleUpgrade(...args: never[]): unknown } | { tryShutdown(callback: (error?: Error) => void): void; forceShutdown(): void };

/**
 * The drainer of a server the app made itself: the very drainer of the app's own server
 * of that kind, so the same zero-loss rules apply. `undefined` when `target` is not a
 * server it knows (a plain closer or function: a quit hook, as before).
 *
 * Told apart by class where Node exports one, by shape where it does not (`http2`'s
 * servers) or where the library is an optional peer that must not be imported (`ws`,
 * `@grpc/grpc-js`).
 */
export function drainerForServer(target: unknown, options: Pick<ResolvedQuitOptions, 'http'>): TransportDrainer | undefined {
  if (typeof target !== 'object' || target === null) return undefined;
  const t = target as Record<string, unknown>;
  // http2's Http2Server extends net.Server, Http2SecureServer tls.Server: updateSettings is theirs.
  const http2 = target instanceof NetServer && typeof t.updateSettings === 'function';
  if (target instanceof HttpServer || target instanceof HttpsServer || http2) {
    return new HttpDrainer(target as HttpServer, options.http.idleGraceMs);
  }
  if (target instanceof NetServer) return new NetDrainer(target);
  if (isWsServer(target)) return new GatewayDrainer(rawWsKind(options.http.idleGraceMs), target, options.http.idleGraceMs);
  if (typeof t.tryShutdown === 'function' && typeof t.forceShutdown === 'function' && typeof t.bindAsync === 'function') {
    return GrpcDrainer.forServer(target as unknown as GrpcJsServer);
  }
  return undefined;
}

/** The same drainer under another name (in events, the report and its pending list). */
export function renamed(drainer: TransportDrainer, name: () => string): TransportDrainer {
  return {
    transport: drainer.transport,
    get name() {
      return name();
    },
    stopIntake: () => drainer.stopIntake(),
    drain: () => drainer.drain(),
    forceClose: () => drainer.forceClose(),
    pending: () => drainer.pending().map((line) => (line.startsWith(`${drainer.name}:`) ? `${name()}${line.slice(drainer.name.length)}` : line)),
    ...(drainer.dispose ? { dispose: () => drainer.dispose!() } : {}),
  };
}

/**
 * What `QuitService.onQuit(target, options)` drains, when `target` is a server: its
 * drainer, under `options.name` if given. `order` and `timeoutMs` are a hook's: a server
 * is placed by `transportOrder` and bounded by the transports phase, so they are refused.
 */
export function ownServerDrainer(target: unknown, options: OnQuitOptions | undefined, module: Pick<ResolvedQuitOptions, 'http'>): TransportDrainer | undefined {
  const drainer = drainerForServer(target, module);
  if (!drainer) return undefined;
  // Refused options leave the server as it was: the drainer's listeners come off again.
  const refuse = (message: string): never => {
    drainer.dispose?.();
    throw new TypeError(message);
  };
  for (const key of ['order', 'timeoutMs'] as const) {
    if (options?.[key] !== undefined) refuse(QuitMessages.serverHookOption(drainer.name, key));
  }
  const name = options?.name;
  if (name === undefined) return drainer;
  if (typeof name !== 'string' || !name) refuse(QuitMessages.serverName(name));
  return renamed(drainer, () => name as string);
}

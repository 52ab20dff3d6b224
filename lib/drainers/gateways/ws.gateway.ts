import type { AddressInfo } from 'node:net';
import type { GatewayKind } from './gateway.drainer.js';

/** What the drainer needs of a `ws` WebSocket. */
export interface WsClient {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** What the drainer needs of a `ws` WebSocketServer. */
export interface WsServer {
  readonly clients?: Set<WsClient>;
  on(event: 'connection', listener: (client: WsClient) => void): unknown;
  handleUpgrade(...args: unknown[]): unknown;
}

/** RFC 6455 §7.4.1: the endpoint is going away (a server shutting down). */
export const WS_GOING_AWAY = 1001;
const CLOSED = 3;

export function isWsServer(value: unknown): value is WsServer {
  const v = value as Partial<WsServer> | null;
  return typeof v === 'object' && v !== null && typeof v.handleUpgrade === 'function' && typeof v.on === 'function';
}

export function listeningPort(server: unknown): number | undefined {
  const address = (server as { address?(): AddressInfo | string | null } | undefined)?.address?.();
  return address && typeof address === 'object' ? address.port : undefined;
}

/**
 * A `ws` server of a Nest gateway (`@nestjs/platform-ws`): the goodbye is a close 1001
 * "going away", which a client reconnects from (to another replica). `port` is the port
 * the gateway was created for; 0 for the HTTP server's, read from `httpServer`.
 */
export function wsKind(port: number, httpServer: unknown): GatewayKind<WsServer, WsClient> {
  return {
    label: 'ws',
    follow(server, onOpen) {
      server.clients?.forEach(onOpen);
      server.on('connection', onOpen);
    },
    onClose(client, listener) {
      if (client.readyState === CLOSED) listener();
      else client.once('close', listener);
    },
    goodbye: goAway,
    destroy: (client) => client.terminate(),
    port: () => (port > 0 ? port : listeningPort(httpServer)),
  };
}

/** Close 1001; a socket still in its opening handshake has no close handshake to have. */
export function goAway(client: WsClient): void {
  try {
    client.close(WS_GOING_AWAY, 'going away');
  } catch {
    client.terminate();
  }
}

/** What the raw kind needs of a `ws` WebSocket beyond `WsClient`. */
export interface RawWsClient extends WsClient {
  on(event: 'message', listener: () => void): unknown;
  off(event: 'message' | 'close', listener: () => void): unknown;
  send(...args: unknown[]): unknown;
}

/** What the raw kind needs of a `ws` WebSocketServer beyond `WsServer`. */
interface RawWsServer extends WsServer {
  off(event: 'connection', listener: (client: RawWsClient) => void): unknown;
}

/** What the raw kind attached to one socket. */
interface Followed {
  /** Ends every unit open on the socket. */
  endAll(): void;
  /** Takes off every listener and the `send` wrapper, and drops its timers. */
  detach(): void;
  /** The drainer's own close listener, taken off by `detach` too. */
  closeListener?: () => void;
}

/**
 * A `ws` server the app made itself and registered with `quit.onQuit(server)`. Its
 * message listeners are the app's own, out of Nest's sight, so what is "in flight" is
 * read off the wire, one unit of work per message received:
 *
 * - a message received on a socket opens a unit on it;
 * - a `send` on that socket (the reply, written before the close frame: ws queues frames
 *   in order) ends its oldest open unit; a send with no unit open ends nothing;
 * - a unit nothing ended ends `graceMs` after its message came (a message that needs no
 *   reply), and from the start of the drain no unit outlives `graceMs`: every one still
 *   open then ends, so a client that keeps sending cannot hold the drain.
 *
 * So a request/response protocol (one reply per message, in order) gets its replies out
 * before the 1001, an idle socket gets its 1001 as soon as the drain starts, and the drain
 * lasts at most the slowest reply or `graceMs`. A server whose sends are not one reply per
 * message (a broadcast, several frames per message, replies out of order) is only
 * approximated: a send ends the oldest unit of its socket whatever it answers.
 */
export function rawWsKind(graceMs: number): GatewayKind<WsServer, RawWsClient> {
  const base = wsKind(-1, undefined) as unknown as GatewayKind<WsServer, RawWsClient>;
  const followed = new Map<RawWsClient, Followed>();
  let onConnection: ((client: RawWsClient) => void) | undefined;
  let cutoff: NodeJS.Timeout | undefined;
  return {
    ...base,
    follow(server, onOpen) {
      onConnection = onOpen;
      base.follow(server, onOpen);
    },
    port: (server) => listeningPortOrUndefined(server),
    onClose(client, listener) {
      const f = followed.get(client);
      if (f) f.closeListener = listener;
      base.onClose(client, listener);
    },
    instrument(client, connections) {
      const units: NodeJS.Timeout[] = [];
      const endOne = (timer: NodeJS.Timeout) => {
        clearTimeout(timer);
        connections.end(client);
      };
      const onMessage = () => {
        // Refused once the socket said goodbye.
        if (!connections.begin(client)) return;
        const timer = setTimeout(() => {
          const i = units.indexOf(timer);
          if (i >= 0) units.splice(i, 1), endOne(timer);
        }, graceMs);
        units.push(timer);
      };
      const onClosed = () => {
        units.splice(0).forEach((timer) => clearTimeout(timer));
        followed.delete(client);
      };
      const hadOwnSend = Object.prototype.hasOwnProperty.call(client, 'send');
      const send = client.send;
      const wrapped = function (this: unknown, ...args: unknown[]) {
        const result = send.apply(this, args);
        const oldest = units.shift();
        if (oldest) endOne(oldest);
        return result;
      };
      client.send = wrapped;
      client.on('message', onMessage);
      client.once('close', onClosed);
      followed.set(client, {
        endAll: () => units.splice(0).forEach(endOne),
        detach: () => {
          const own = followed.get(client)?.closeListener;
          if (own) client.off('close', own);
          client.off('message', onMessage);
          client.off('close', onClosed);
          if (client.send === wrapped) {
            if (hadOwnSend) client.send = send;
            else delete (client as Partial<RawWsClient>).send;
          }
          units.splice(0).forEach((timer) => clearTimeout(timer));
        },
      });
    },
    draining() {
      // Once: the units open now and those the drain still accepts all end by then.
      cutoff ??= setTimeout(() => [...followed.values()].forEach((f) => f.endAll()), graceMs);
      // The drain itself keeps the process alive while sockets are open; this alone must not.
      cutoff.unref?.();
    },
    dispose(server) {
      clearTimeout(cutoff);
      if (onConnection) (server as RawWsServer).off('connection', onConnection);
      for (const f of followed.values()) f.detach();
      followed.clear();
    },
  };
}

/** A ws server in `noServer` mode throws on `address()`: it has no port of its own. */
function listeningPortOrUndefined(server: unknown): number | undefined {
  try {
    return listeningPort(server);
  } catch {
    return undefined;
  }
}

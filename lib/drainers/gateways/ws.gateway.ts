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
interface RawWsClient extends WsClient {
  on(event: 'message', listener: () => void): unknown;
  send(...args: unknown[]): unknown;
}

/**
 * A `ws` server the app made itself and registered with `quit.onQuit(server)`. Its
 * message listeners are the app's own, out of Nest's sight, so what is "in flight" is
 * read off the wire, by the keep-alive rule the HTTP drain uses: a message received
 * opens a unit of work on its socket that ends when the server next sends on that socket
 * (the reply, written before the close frame: ws queues frames in order), or once
 * `graceMs` passed with nothing sent (a message that needs no reply). So a
 * request/response protocol gets its replies out before the 1001, and an idle socket gets
 * its 1001 as soon as the drain starts.
 */
export function rawWsKind(graceMs: number): GatewayKind<WsServer, RawWsClient> {
  const base = wsKind(-1, undefined) as unknown as GatewayKind<WsServer, RawWsClient>;
  return {
    ...base,
    port: (server) => listeningPortOrUndefined(server),
    instrument(client, connections) {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (!timer) return;
        clearTimeout(timer);
        timer = undefined;
        connections.end(client);
      };
      client.on('message', () => {
        if (timer) timer.refresh();
        else if (connections.begin(client)) timer = setTimeout(finish, graceMs);
      });
      const send = client.send;
      client.send = function (this: unknown, ...args: unknown[]) {
        const result = send.apply(this, args);
        finish();
        return result;
      };
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

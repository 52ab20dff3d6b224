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

import { idlePollingSocket } from '../../internals/engine-io.js';
import type { GatewayKind } from './gateway.drainer.js';
import { listeningPort } from './ws.gateway.js';

/** What the drainer needs of an engine.io socket (a Socket.IO client's transport, `socket.conn`). */
export interface EngineSocket {
  readonly readyState: string;
  close(discard?: boolean): void;
  once(event: 'close', listener: () => void): unknown;
}

/** What the drainer needs of a Socket.IO server (`io`). */
export interface IoServer {
  readonly engine: { clients?: Record<string, EngineSocket>; on(event: 'connection', listener: (socket: EngineSocket) => void): unknown };
  readonly httpServer?: unknown;
}

/** The Socket.IO server of `value`: itself, or the server of a namespace. */
export function ioServerOf(value: unknown): IoServer | undefined {
  const isServer = (v: unknown): v is IoServer =>
    typeof v === 'object' && v !== null && typeof (v as Partial<IoServer>).engine?.on === 'function' && typeof (v as { of?: unknown }).of === 'function';
  if (isServer(value)) return value;
  const parent = (value as { server?: unknown } | null)?.server;
  return isServer(parent) ? parent : undefined;
}

/**
 * A Socket.IO server (`@nestjs/platform-socket.io`, Nest's default gateway adapter) and
 * all its namespaces: a connection is one engine.io socket, shared by the client's
 * namespaces. The goodbye closes that transport (`engineSocket.close()`), after the
 * packets already written (the acks of the handlers that finished) are flushed: the
 * client sees `transport close`, which `socket.io-client` reconnects from with its
 * default options. `socket.disconnect(true)` would say `io server disconnect`, after
 * which the client does not reconnect by itself. A client on HTTP long-polling sees
 * `transport close` or `transport error` (see `goodbye`); it reconnects from both.
 */
export const socketIoKind: GatewayKind<IoServer, EngineSocket> = {
  label: 'socket.io',
  follow(server, onOpen) {
    Object.values(server.engine.clients ?? {}).forEach(onOpen);
    server.engine.on('connection', onOpen);
  },
  onClose(socket, listener) {
    if (socket.readyState === 'closed') listener();
    else socket.once('close', listener);
  },
  goodbye(socket) {
    // A long-polling client reads the close only with its next poll, which may never come
    // (the HTTP listener is closed): with nothing left to send, the transport is closed now,
    // and that next poll fails (`transport error`), which the client also reconnects from.
    socket.close(idlePollingSocket(socket));
  },

  destroy: (socket) => socket.close(true),
  port: (server) => listeningPort(server.httpServer),
};

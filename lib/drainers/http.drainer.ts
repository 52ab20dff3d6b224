import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';

interface Connection {
  socket: Socket;
  /** Responses not yet closed. */
  responses: Set<ServerResponse>;
  idleSince: number;
  /** `socket.bytesRead` when it went idle: more bytes since mean a request is arriving. */
  bytesAtIdle: number;
}

/**
 * Drains a Node HTTP(S) or HTTP/2 server (Express and Fastify both run on one) without
 * losing a request or resetting a socket:
 *
 * - intake: the listening socket closes (`net.Server#close`, not `http.Server#close`,
 *   which since Node 19 also destroys idle keep-alive sockets at once: the reset race);
 * - a request in flight, or one that arrives on an open socket during the drain, is
 *   served, with `Connection: close`, and its socket then closes;
 * - an idle keep-alive socket is closed only when it has been idle for `idleGraceMs`
 *   and no byte of a new request has arrived on it, so a client that has just picked
 *   it for its next request is served rather than reset;
 * - HTTP/2 sessions get a GOAWAY (`session.close()`) and their open streams complete.
 *
 * The drain is over as soon as the last socket closes. Tracking starts at bootstrap,
 * before `listen()`, so that every connection is known.
 */
export class HttpDrainer implements TransportDrainer {
  readonly transport = 'http' as const;
  private readonly connections = new Map<Socket, Connection>();
  private readonly sessions = new Set<Http2Session>();
  private draining = false;
  private sweepTimer?: NodeJS.Timeout;
  private drained?: () => void;
  private label = 'http';

  constructor(
    private readonly server: HttpServer,
    private readonly idleGraceMs: number,
  ) {
    const secure = server instanceof TlsServer;
    server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => this.track(socket));
    // First in line: the header must be set before the app's handler can send it.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.on('upgrade', (_req: IncomingMessage, socket: Socket) => this.connections.delete(socket));
    server.on('session', (session: Http2Session) => this.onSession(session));
  }

  get name(): string {
    return this.label;
  }

  stopIntake(): void {
    const address = this.server.address() as AddressInfo | string | null;
    this.label = address == null ? 'http' : typeof address === 'string' ? `http:${address}` : `http:${address.port}`;
    this.draining = true;
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    for (const session of this.sessions) session.close();
    for (const conn of this.connections.values()) for (const res of conn.responses) closeAfter(res);
  }

  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.drained = resolve;
      this.sweep();
    });
  }

  forceClose(): void {
    clearTimeout(this.sweepTimer);
    for (const session of this.sessions) session.destroy();
    for (const { socket } of this.connections.values()) socket.destroy();
  }

  pending(): string[] {
    let requests = 0;
    for (const conn of this.connections.values()) requests += conn.responses.size;
    const parts = [`${requests} request(s) in flight`, `${this.connections.size} connection(s) open`];
    if (this.sessions.size) parts.push(`${this.sessions.size} HTTP/2 session(s) open`);
    return [`${this.name}: ${parts.join(', ')}`];
  }

  private track(socket: Socket): Connection {
    let conn = this.connections.get(socket);
    if (conn) return conn;
    conn = { socket, responses: new Set(), idleSince: Date.now(), bytesAtIdle: socket.bytesRead };
    this.connections.set(socket, conn);
    socket.once('close', () => {
      this.connections.delete(socket);
      this.sweep();
    });
    return conn;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.httpVersionMajor >= 2) return; // an HTTP/2 stream: its session is tracked
    const conn = this.track(req.socket);
    conn.responses.add(res);
    if (this.draining) closeAfter(res);
    res.once('close', () => {
      conn.responses.delete(res);
      if (conn.responses.size === 0) {
        conn.idleSince = Date.now();
        conn.bytesAtIdle = conn.socket.bytesRead;
      }
      this.sweep();
    });
  }

  private onSession(session: Http2Session): void {
    this.sessions.add(session);
    // The session's TCP/TLS socket is the session's business, not an HTTP/1 connection.
    const socket = session.socket as unknown as Socket;
    if (socket) this.connections.delete(socket);
    session.once('close', () => {
      this.sessions.delete(session);
      this.sweep();
    });
    if (this.draining) session.close();
  }

  /** Closes the idle sockets whose grace is over; resolves the drain when none is left. */
  private sweep(): void {
    if (!this.draining || !this.drained) return;
    clearTimeout(this.sweepTimer);
    const now = Date.now();
    let next = Infinity;
    for (const conn of this.connections.values()) {
      if (conn.responses.size > 0) continue;
      if (conn.socket.bytesRead !== conn.bytesAtIdle) {
        // Bytes of a request are arriving: not idle, whatever the clock says.
        conn.idleSince = now;
        conn.bytesAtIdle = conn.socket.bytesRead;
      }
      const due = conn.idleSince + this.idleGraceMs;
      if (due <= now) conn.socket.destroy();
      else next = Math.min(next, due);
    }
    if (this.connections.size === 0 && this.sessions.size === 0) {
      this.drained();
      return;
    }
    if (next !== Infinity) this.sweepTimer = setTimeout(() => this.sweep(), Math.max(1, next - now));
  }
}

/** Makes Node close the socket once this response is sent, and tells the client so. */
function closeAfter(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
  // Also when the headers are already out: Node then ends the socket after this response.
  res.shouldKeepAlive = false;
}

import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { settleWithin } from '../pipeline/timing.js';
import { IdleSweeper, type IdleConnection } from './idle-sweeper.js';

interface Connection extends IdleConnection {
  socket: Socket;
  /**
   * Its latest response. HTTP/1 answers in order, so once that one is written, so is
   * every earlier one: this is all it takes to tell a busy connection from an idle one.
   */
  latest?: ServerResponse;
}

/** A response's connection, kept on the response for its 'close' listener. */
const CONNECTION = Symbol('nestjs-quit:connection');
type TrackedResponse = ServerResponse & { [CONNECTION]?: Connection };

const busy = (conn: Connection) => conn.latest !== undefined && !conn.latest.writableFinished;

/** Marks the socket of an HTTP/2 session: it is drained as a session, not as an HTTP/1 connection. */
const H2_SOCKET = Symbol('nestjs-quit:h2-socket');

/** The largest stream id: a GOAWAY carrying it announces the shutdown without refusing any stream (RFC 9113 §6.8). */
const SHUTDOWN_NOTICE_STREAM_ID = 2 ** 31 - 1;

/**
 * At the phase timeout, how long the responses ended then get to flush their last bytes
 * and the WebSocket-less sockets to close, before whatever is left is destroyed.
 */
export const FORCE_CLOSE_GRACE_MS = 500;

/**
 * Drains a Node HTTP(S) or HTTP/2 server (Express and Fastify both run on one) without
 * losing a request or resetting a socket:
 *
 * - intake: the listening socket closes (`net.Server#close`, not `http.Server#close`,
 *   which since Node 19 also destroys idle keep-alive sockets at once: the reset race);
 * - a request in flight, or one that arrives on an open socket during the drain, is
 *   served, with `Connection: close`, and its socket then closes;
 * - an idle keep-alive socket is closed only once it has been idle for `idleGraceMs`
 *   with no byte of a new request arriving on it: a client that has just picked it for
 *   its next request is served rather than reset;
 * - HTTP/2 sessions get a GOAWAY that refuses nothing, then, after `idleGraceMs`, the
 *   final one (`session.close()`); their open streams complete.
 *
 * The drain is over as soon as the last socket closes. At the phase timeout
 * (`forceClose`), responses already under way (an SSE stream, a download) are ended
 * cleanly, those not started are answered 503, and what is still open after
 * `FORCE_CLOSE_GRACE_MS` is destroyed. Tracking starts at bootstrap, before `listen()`,
 * so that every connection is known.
 */
export class HttpDrainer implements TransportDrainer {
  readonly transport = 'http' as const;
  /** The HTTP/1 connections, closed by the idle rule during the drain. */
  private readonly idle: IdleSweeper<Connection>;
  /** HTTP/2 sessions and their open (compatibility API) responses. */
  private readonly sessions = new Map<Http2Session, Set<Http2ServerResponse>>();
  private draining = false;
  private label = 'http';
  /** One listener for every response, told apart by `this` (the response). */
  private readonly onResponseClose: (this: TrackedResponse) => void;

  constructor(
    private readonly server: HttpServer,
    private readonly idleGraceMs: number,
  ) {
    const drainer = this;
    this.idle = new IdleSweeper<Connection>(idleGraceMs, {
      busy,
      // Ends the TLS session properly too; the socket is destroyed once that is written.
      close: (socket) => socket.destroySoon(),
      othersOpen: () => this.sessions.size > 0,
    });
    this.onResponseClose = function (this: TrackedResponse) {
      drainer.responseClosed(this);
    };
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => this.track(socket));
    // First in line: the header must be set before the app's handler can send it.
    server.prependListener('request', (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) =>
      this.onRequest(req, res),
    );
    server.on('session', (session: Http2Session) => this.onSession(session));
    this.watchUpgrades();
  }

  get name(): string {
    return this.label;
  }

  stopIntake(): void {
    const address = this.server.address() as AddressInfo | string | null;
    this.label = address == null ? 'http' : typeof address === 'string' ? `http:${address}` : `http:${address.port}`;
    this.draining = true;
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    for (const session of this.sessions.keys()) announceShutdown(session);
    for (const conn of this.idle.connections.values()) {
      if (busy(conn)) this.follow(conn.latest as TrackedResponse, conn);
    }
  }

  drain(): Promise<void> {
    // Sessions that were told about the shutdown get the final GOAWAY a grace later.
    if (this.sessions.size) setTimeout(() => this.sessions.forEach((_, s) => s.close()), this.idleGraceMs).unref();
    return this.idle.start();
  }

  async forceClose(): Promise<void> {
    // Past the phase timeout: sockets close as soon as their last response is out.
    this.idle.closeIdleNow();
    for (const conn of this.idle.connections.values()) {
      if (busy(conn)) endNow(conn.latest!);
      else conn.socket.destroy();
    }
    for (const [session, responses] of this.sessions) {
      for (const res of responses) endNow(res);
      session.close();
    }
    await settleWithin(this.idle.start(), FORCE_CLOSE_GRACE_MS);
    this.idle.stop();
    for (const session of this.sessions.keys()) session.destroy();
    for (const { socket } of this.idle.connections.values()) socket.destroy();
  }

  pending(): string[] {
    let requests = 0;
    for (const conn of this.idle.connections.values()) if (busy(conn)) requests++;
    let streams = 0;
    for (const responses of this.sessions.values()) streams += responses.size;
    const parts = [`${requests} request(s) in flight`, `${this.idle.connections.size} connection(s) open`];
    if (this.sessions.size) parts.push(`${this.sessions.size} HTTP/2 session(s) open with ${streams} stream(s)`);
    return [`${this.name}: ${parts.join(', ')}`];
  }

  private track(socket: Socket): Connection | undefined {
    if ((socket as Socket & { [H2_SOCKET]?: boolean })[H2_SOCKET]) return undefined;
    return this.idle.track(socket, () => ({ socket }));
  }

  private onRequest(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    if (req.httpVersionMajor >= 2) return this.onStream(req as Http2ServerRequest, res as Http2ServerResponse);
    // The hot path of every request: a lookup and an assignment, no listener until the
    // drain (a 'close' listener and closure per response showed up as a few percent of a
    // trivial route's CPU; this costs tens of nanoseconds, see the HTTP benchmark).
    const conn = this.idle.connections.get(req.socket as Socket) ?? this.track(req.socket as Socket);
    if (!conn) return;
    conn.latest = res as ServerResponse;
    if (this.draining) this.follow(conn.latest as TrackedResponse, conn);
  }

  /** During the drain: learns when a response is done, to start its socket's idle time. */
  private follow(res: TrackedResponse, conn: Connection): void {
    res[CONNECTION] = conn;
    res.on('close', this.onResponseClose);
    closeAfter(res);
  }

  private responseClosed(res: TrackedResponse): void {
    const conn = res[CONNECTION]!;
    if (!busy(conn)) this.idle.idleFromNow(conn, conn.socket);
  }

  private onStream(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const responses = this.sessions.get(req.stream.session as Http2Session);
    if (!responses) return;
    responses.add(res);
    res.once('close', () => responses.delete(res));
  }

  private onSession(session: Http2Session): void {
    this.sessions.set(session, new Set());
    // `session.socket` is a proxy that sets properties on the real socket: the mark lets
    // `track` (which runs after the server's own listener has made the session) skip it.
    const socket = session.socket as unknown as Record<symbol, boolean> | undefined;
    if (socket) socket[H2_SOCKET] = true;
    for (const conn of this.idle.connections.values()) {
      if ((conn.socket as Socket & { [H2_SOCKET]?: boolean })[H2_SOCKET]) this.idle.connections.delete(conn.socket);
    }
    session.once('close', () => {
      this.sessions.delete(session);
      this.idle.request();
    });
    if (this.draining) {
      announceShutdown(session);
      setTimeout(() => session.close(), this.idleGraceMs).unref();
    }
  }

  /**
   * A socket handed to an `upgrade` listener (a WebSocket) is no longer an HTTP
   * connection: the WebSocket drainer owns it. Ours is only added while the app has one
   * of its own, because Node destroys an upgrade request nobody listens to, and a
   * listener of ours would silently keep such sockets open.
   */
  private watchUpgrades(): void {
    const onUpgrade = (_req: IncomingMessage, socket: Socket) => this.idle.connections.delete(socket);
    let added = false;
    const add = () => {
      if (added) return;
      added = true;
      this.server.prependListener('upgrade', onUpgrade);
    };
    if (this.server.listenerCount('upgrade') > 0) add();
    else this.server.on('newListener', (event) => event === 'upgrade' && add());
  }
}

/**
 * Makes Node close the socket once this response is sent, and tells the client so. A
 * response whose headers are already out promised keep-alive: closing its socket right
 * after it could meet the client's next request on the way, so that socket is left to
 * the idle rule (its next request is answered with `Connection: close`).
 */
function closeAfter(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

/** GOAWAY with the largest stream id: the client opens no new stream, and none is refused. */
function announceShutdown(session: Http2Session): void {
  if (!session.closed && !session.destroyed) session.goaway(0, SHUTDOWN_NOTICE_STREAM_ID);
}

/**
 * Ends a response at the phase timeout without cutting it: a response under way ends
 * as a complete (shorter) body — an SSE stream or a chunked download ends normally —
 * and one not started is answered 503.
 */
function endNow(res: ServerResponse | Http2ServerResponse): void {
  // A source still piped into the response writes after its end: that must not be an
  // unhandled 'error' that crashes the process.
  res.on('error', () => undefined);
  if (res.writableEnded) return;
  const http1 = 'shouldKeepAlive' in res;
  if (!res.headersSent) {
    res.statusCode = 503;
    if (http1) res.setHeader('Connection', 'close');
  } else if (http1) {
    (res as ServerResponse).shouldKeepAlive = false;
  }
  res.end();
}

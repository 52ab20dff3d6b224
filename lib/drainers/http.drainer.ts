import type { LoggerService } from '@nestjs/common';
import { Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { Server as HttpsServer } from 'node:https';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { settleWithin } from '../pipeline/timing.js';
import { QuitMessages } from '../quit.messages.js';
import { Http1Connections } from './http/http1.connections.js';
import { Http2Sessions } from './http/http2.sessions.js';

/**
 * At the phase timeout, how long the responses ended then get to flush their last bytes
 * and the sockets to close, before whatever is left is destroyed.
 */
export const FORCE_CLOSE_GRACE_MS = 500;

/**
 * Drains a Node HTTP(S) or HTTP/2 server (Express and Fastify both run on one) without
 * losing a request or resetting a socket:
 *
 * - intake: the listening socket closes (`net.Server#close`, not `http.Server#close`,
 *   which since Node 19 also destroys idle keep-alive sockets at once: the reset race);
 * - a request in flight, or one that arrives on an open socket during the drain, is
 *   served, with `Connection: close`, and its socket then closes; an event stream
 *   (`text/event-stream`) ends at once, on an event boundary;
 * - an idle keep-alive socket closes once `idleGraceMs` has passed since its last byte
 *   with no byte of a new request arriving on it (`Http1Connections`);
 * - HTTP/2 sessions get a GOAWAY that refuses nothing and, once it is written, the final
 *   GOAWAY; their open streams complete (`Http2Sessions`).
 *
 * The drain is over as soon as the last socket closes. At the phase timeout
 * (`forceClose`), responses already under way (a download) are ended cleanly, those not
 * started are answered 503, and what is still open after `FORCE_CLOSE_GRACE_MS` is
 * destroyed at the socket. Tracking starts at bootstrap, before `listen()`, so that
 * every connection is known; before the drain it costs one set entry per connection and
 * nothing per HTTP/1 request.
 */
export class HttpDrainer implements TransportDrainer {
  readonly transport = 'http' as const;
  private readonly h1: Http1Connections;
  private readonly h2: Http2Sessions;
  private draining = false;
  private label = 'http';
  private empty?: () => void;
  private emptied?: Promise<void>;
  private readonly onRequest: (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;
  private readonly connectionEvent: 'connection' | 'secureConnection';
  private readonly onConnection = (socket: Socket) => {
    if (!this.h2.onSocket(socket)) this.h1.track(socket);
  };
  private readonly onSession = (session: Http2Session) => this.h2.onSession(session);
  private readonly onUpgrade = (_req: IncomingMessage, socket: Socket) => this.h1.forget(socket);
  private readonly onNewListener = (event: string | symbol) => event === 'upgrade' && this.addUpgradeListener();
  private upgradeWatched = false;

  constructor(
    private readonly server: HttpServer,
    idleGraceMs: number,
    logger?: LoggerService,
  ) {
    this.h1 = new Http1Connections(idleGraceMs, () => this.check());
    this.h2 = new Http2Sessions(idleGraceMs, () => this.check());
    const reach = this.h1.fullReach;
    if (!reach.httpMessage || !reach.lastByte) {
      logger?.warn(QuitMessages.httpInternalsMissing(!reach.httpMessage ? 'ServerResponse socket._httpMessage' : 'net.Socket timer start (kTimeout._idleStart)'));
    }
    this.connectionEvent = server instanceof TlsServer ? 'secureConnection' : 'connection';
    server.on(this.connectionEvent, this.onConnection);
    server.on('session', this.onSession);
    this.onRequest = (req, res) => {
      if (req.httpVersionMajor >= 2) return this.h2.onStream(req as Http2ServerRequest, res as Http2ServerResponse);
      if (!reach.httpMessage) this.h1.remember(res as ServerResponse);
      if (this.draining) this.h1.request(req as IncomingMessage, res as ServerResponse);
    };
    // An HTTP/1 server needs no listener per request until the drain (Node's `_httpMessage`
    // says what a connection owes); HTTP/2 streams are followed from the start.
    const http1Only = (server as object) instanceof HttpServer || (server as object) instanceof HttpsServer;
    if (!http1Only || !reach.httpMessage) this.listenToRequests();
    this.watchUpgrades();
  }

  get name(): string {
    return this.label;
  }

  stopIntake(): void {
    const address = this.server.address() as AddressInfo | string | null;
    this.label = address == null ? 'http' : typeof address === 'string' ? `http:${address}` : `http:${address.port}`;
    this.draining = true;
    this.listenToRequests();
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    this.emptied = new Promise((resolve) => (this.empty = resolve));
    this.h1.drain();
    this.h2.drain();
    this.check();
  }

  drain(): Promise<void> {
    if (!this.emptied) this.stopIntake();
    return this.emptied!;
  }

  async forceClose(): Promise<void> {
    this.h1.forceClose();
    this.h2.forceClose();
    this.check();
    await settleWithin(this.emptied ?? Promise.resolve(), FORCE_CLOSE_GRACE_MS);
    this.h1.destroy();
    this.h2.destroy();
  }

  pending(): string[] {
    const parts = [`${this.h1.busyCount()} request(s) in flight`, `${this.h1.sockets.size} connection(s) open`];
    if (this.h2.size) parts.push(`${this.h2.size} HTTP/2 session(s) open with ${this.h2.streamCount()} stream(s)`);
    return [`${this.name}: ${parts.join(', ')}`];
  }

  /** Unregistered (an own server): every listener back off the server and its connections, timers cleared. */
  dispose(): void {
    this.server.removeListener(this.connectionEvent, this.onConnection);
    this.server.removeListener('session', this.onSession);
    this.server.removeListener('request', this.onRequest);
    this.server.removeListener('upgrade', this.onUpgrade);
    this.server.removeListener('newListener', this.onNewListener);
    this.h1.dispose();
    this.h2.dispose();
  }

  private check(): void {
    if (!this.draining) return;
    if (this.h1.sockets.size === 0 && this.h2.size === 0) this.empty?.();
  }

  private listening = false;
  private listenToRequests(): void {
    if (this.listening) return;
    this.listening = true;
    // First in line: the header must be set before the app's handler can send it.
    this.server.prependListener('request', this.onRequest);
  }

  /**
   * A socket handed to an `upgrade` listener (a WebSocket) is no longer an HTTP
   * connection: the WebSocket drainer owns it. Ours is only added while the app has one
   * of its own, because Node destroys an upgrade request nobody listens to, and a
   * listener of ours would silently keep such sockets open.
   */
  private watchUpgrades(): void {
    if (this.server.listenerCount('upgrade') > 0) this.addUpgradeListener();
    else this.server.on('newListener', this.onNewListener);
  }

  private addUpgradeListener(): void {
    if (this.upgradeWatched) return;
    this.upgradeWatched = true;
    this.server.removeListener('newListener', this.onNewListener);
    this.server.prependListener('upgrade', this.onUpgrade);
  }
}

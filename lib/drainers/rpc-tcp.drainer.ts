import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { markTcpClosing, tapTcpMessages, tcpNetSocketOf, tcpOpenSockets, unwrapClient, type RpcStrategy } from '../internals/nest-microservices.js';
import { PersistentConnections } from './connections/persistent-connections.js';
import { RpcDrainer } from './rpc.drainer.js';

/**
 * Drains a Nest TCP microservice (`Transport.TCP`). Its clients (`ClientTCP`) keep one
 * connection open and pipeline every request over it, and Nest's protocol has no way to
 * refuse a request, so a connection is drained as any persistent connection is
 * (`PersistentConnections`):
 *
 * - intake: the listening socket closes (new connections are refused) and every
 *   connection stops reading, so a pipelining client cannot keep it busy for ever;
 * - every request already read is answered on its connection; then the connection ends
 *   (FIN, after the replies). What the client sent after that is read only to see its
 *   FIN: a request is not started (the client fails it at once with "Connection closed",
 *   and may send it elsewhere), an event, which needs no reply, is handled;
 * - a connection from this very process (the app calling itself through its own
 *   `ClientProxy`, as in Nest's hybrid samples) keeps being served: the HTTP requests or
 *   handlers in flight that call through it must be answered. The drain does not wait for
 *   it to close, only for the handlers it started; Nest's `close()` closes it later.
 * - the drain is over when every other connection has closed and no handler runs; at
 *   the phase timeout Nest's own `close()` destroys what is left.
 */
export class TcpDrainer extends RpcDrainer {
  private readonly connections = new PersistentConnections<Socket>({
    // FIN after the replies written; reading on, to see the client's FIN.
    goodbye: (socket) => {
      socket.end();
      socket.resume();
    },
    destroy: (socket) => socket.destroy(),
  });
  private readonly listener?: NetServer;
  private tcpLabel = 'tcp';

  /**
   * @param ownClients the sockets of the app's own TCP clients now (see `ownTcpClientSockets`).
   */
  constructor(
    strategy: RpcStrategy,
    closeNow: () => Promise<unknown>,
    private readonly ownClients: () => Socket[] = () => [],
  ) {
    super(strategy, 'tcp', closeNow);
    // A reply can only go out on a connection that has not ended.
    if (!tapTcpMessages(strategy, (socket) => this.read(socket), (socket) => !socket.writableEnded)) {
      this.warn('ServerTCP#handleMessage not found: connections are not drained one by one');
    }
    // Nest creates the net server in the strategy's constructor.
    const listener = unwrapClient<NetServer>(strategy);
    if (typeof listener?.on === 'function' && typeof listener.close === 'function') this.listener = listener;
    else this.warn('ServerTCP#unwrap() gave no net.Server: new connections are not refused');
    const event = this.listener instanceof TlsServer ? 'secureConnection' : 'connection';
    this.listener?.on(event, (socket: Socket) => this.track(socket));
    // Connections accepted before the drainer was made (a hybrid app bootstraps after listening).
    for (const socket of tcpOpenSockets(strategy)) this.track(socket);
  }

  override get name(): string {
    return this.tcpLabel;
  }

  override stopIntake(): void {
    const address = this.listener?.address() as AddressInfo | string | null | undefined;
    if (address) this.tcpLabel = typeof address === 'string' ? `tcp:${address}` : `tcp:${address.port}`;
    markTcpClosing(this.strategy);
    if (this.listener?.listening) this.listener.close();
    for (const socket of tcpOpenSockets(this.strategy)) this.track(socket);
    const own = new Set(this.ownClients().map((c) => tcpConnectionKey(c, 'client')));
    this.isOwn = (socket) => own.has(tcpConnectionKey(socket, 'server'));
    for (const socket of this.tracked) {
      if (this.isOwn(socket)) this.connections.closed(socket);
      else socket.pause();
    }
    // From here a connection with nothing in flight says goodbye.
    void this.connections.drain();
  }

  override async drain(): Promise<void> {
    // The one drain stopIntake started (`drain()` is idempotent), or, without it, a first one.
    await this.connections.drain();
    await super.drain();
  }

  override async forceClose(): Promise<void> {
    this.connections.forceClose();
    await super.forceClose();
  }

  override pending(): string[] {
    return [`${this.name}: ${this.inFlight('request')}, ${this.connections.size} connection(s) open`];
  }

  protected override onHandler(context: unknown): () => void {
    const end = super.onHandler(context);
    const socket = tcpNetSocketOf(context);
    if (socket) this.track(socket);
    const counted = socket !== undefined && this.connections.begin(socket);
    if (!counted) return end;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      end();
      // After the reply is written (Nest writes it on the next tick; see InFlight#start).
      setImmediate(() => this.connections.end(socket));
    };
  }

  /** A frame was read on `socket`: its connection is busy until the frame's handler has started (or it had none). */
  private read(socket: Socket): () => void {
    // A connection accepted before the drainer was made, on a Nest without `openSockets`
    // (12.0, 11.1): first seen here.
    this.track(socket);
    const counted = this.connections.begin(socket);
    let done = false;
    return () => {
      if (done || !counted) return;
      done = true;
      this.connections.end(socket);
    };
  }

  private readonly tracked = new Set<Socket>();
  /**
   * From the intake stop: whether a connection is the app's own. Not waited for: its client
   * is this process, which closes it with Nest's close().
   */
  private isOwn?: (socket: Socket) => boolean;

  /** Follows a connection, with the listener that reports its close; wherever it first becomes known. */
  private track(socket: Socket): void {
    if (this.tracked.has(socket) || socket.destroyed) return;
    this.tracked.add(socket);
    socket.once('close', () => {
      this.tracked.delete(socket);
      this.connections.closed(socket);
    });
    if (!this.isOwn?.(socket)) this.connections.add(socket);
  }
}

/** The endpoints of a TCP connection, as either end sees them. */
type Endpoints = Pick<Socket, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>;

/**
 * One key per TCP connection, the same from its client's end and its server's end: the
 * client's address and port, then the server's. An IPv4-mapped IPv6 address is written
 * as IPv4: a server listening on `::` sees `::ffff:127.0.0.1` where its client, connected
 * to 127.0.0.1, sees `127.0.0.1`.
 */
export function tcpConnectionKey(socket: Endpoints, end: 'client' | 'server'): string {
  const local = `${ipv4(socket.localAddress)}|${socket.localPort}`;
  const remote = `${ipv4(socket.remoteAddress)}|${socket.remotePort}`;
  return end === 'client' ? `${local} ${remote}` : `${remote} ${local}`;
}

function ipv4(address: string | undefined): string | undefined {
  const mapped = address && /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1] : address;
}

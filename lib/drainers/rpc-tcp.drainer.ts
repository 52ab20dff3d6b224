import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { RpcDrainer } from './rpc.drainer.js';
import { markTcpClosing, type RpcStrategy } from './rpc.internals.js';

interface Connection {
  inFlight: number;
  idleSince: number;
  /** `socket.bytesRead` when it went idle: more bytes since mean a message is arriving. */
  bytesAtIdle: number;
}

/**
 * Drains a Nest TCP microservice (`Transport.TCP`). Its clients (`ClientTCP`) keep one
 * connection open and send every request over it, so closing a connection is what ends
 * intake for a client, and it must not happen while a request on it is unanswered:
 *
 * - intake: the listening socket closes, so new connections are refused;
 * - every request in flight is answered on its connection; a request that arrives on a
 *   connection during the drain is served too;
 * - a connection with no request in flight is ended (FIN, after the replies written)
 *   once it has been idle for `idleGraceMs` with no byte of a new request arriving, so a
 *   client that is writing one right now is answered rather than cut off;
 * - the drain is over when every connection has closed; at the phase timeout Nest's
 *   own `close()` destroys what is left.
 */
export class TcpDrainer extends RpcDrainer {
  private readonly connections = new Map<Socket, Connection>();
  private readonly listener?: NetServer;
  private draining = false;
  private drained?: () => void;
  private sweepTimer?: NodeJS.Timeout;
  private tcpLabel = 'tcp';

  constructor(
    strategy: RpcStrategy,
    closeNow: () => Promise<unknown>,
    private readonly idleGraceMs: number,
  ) {
    super(strategy, 'tcp', closeNow);
    try {
      // Nest creates the net server in the strategy's constructor: every connection is seen.
      this.listener = strategy.unwrap?.<NetServer>();
    } catch {
      this.listener = undefined;
    }
    const event = this.listener instanceof TlsServer ? 'secureConnection' : 'connection';
    this.listener?.on(event, (socket: Socket) => this.track(socket));
  }

  override get name(): string {
    return this.tcpLabel;
  }

  override stopIntake(): void {
    const address = this.listener?.address() as AddressInfo | string | null | undefined;
    if (address) this.tcpLabel = typeof address === 'string' ? `tcp:${address}` : `tcp:${address.port}`;
    this.draining = true;
    markTcpClosing(this.strategy);
    if (this.listener?.listening) this.listener.close();
  }

  override async drain(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.drained = resolve;
      this.sweep();
    });
    await super.drain();
  }

  override async forceClose(): Promise<void> {
    clearTimeout(this.sweepTimer);
    await super.forceClose();
  }

  override pending(): string[] {
    return [`${this.name}: ${this.handlers.size} request(s) in flight, ${this.connections.size} connection(s) open`];
  }

  protected override onHandler(context: unknown): () => void {
    const end = super.onHandler(context);
    const socket = (context as { getSocketRef?(): { netSocket?: Socket } }).getSocketRef?.()?.netSocket;
    const conn = socket && this.track(socket);
    if (!conn) return end;
    conn.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      end();
      // After the reply is written (see InFlight#start).
      setImmediate(() => {
        if (--conn.inFlight === 0) {
          conn.idleSince = Date.now();
          conn.bytesAtIdle = socket.bytesRead;
        }
        this.sweep();
      });
    };
  }

  private track(socket: Socket): Connection {
    let conn = this.connections.get(socket);
    if (conn) return conn;
    conn = { inFlight: 0, idleSince: Date.now(), bytesAtIdle: socket.bytesRead };
    this.connections.set(socket, conn);
    socket.once('close', () => {
      this.connections.delete(socket);
      this.sweep();
    });
    return conn;
  }

  /** Ends the connections whose idle grace is over; resolves the drain when none is left. */
  private sweep(): void {
    if (!this.draining || !this.drained) return;
    clearTimeout(this.sweepTimer);
    const now = Date.now();
    let next = Infinity;
    for (const [socket, conn] of this.connections) {
      if (conn.inFlight > 0 || socket.writableEnded) continue;
      if (socket.bytesRead !== conn.bytesAtIdle) {
        conn.idleSince = now;
        conn.bytesAtIdle = socket.bytesRead;
      }
      const due = conn.idleSince + this.idleGraceMs;
      if (due <= now) socket.end();
      else next = Math.min(next, due);
    }
    if (this.connections.size === 0) {
      this.drained();
      return;
    }
    if (next !== Infinity) this.sweepTimer = setTimeout(() => this.sweep(), Math.max(1, next - now));
  }
}

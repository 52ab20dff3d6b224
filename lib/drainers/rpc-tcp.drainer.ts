import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { IdleSweeper, type IdleConnection } from './idle-sweeper.js';
import { RpcDrainer } from './rpc.drainer.js';
import { markTcpClosing, type RpcStrategy } from './rpc.internals.js';

interface Connection extends IdleConnection {
  inFlight: number;
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
  private readonly idle: IdleSweeper<Connection>;
  private readonly listener?: NetServer;
  private tcpLabel = 'tcp';

  constructor(
    strategy: RpcStrategy,
    closeNow: () => Promise<unknown>,
    idleGraceMs: number,
  ) {
    super(strategy, 'tcp', closeNow);
    this.idle = new IdleSweeper<Connection>(idleGraceMs, {
      // Ended already: waiting for the client's side to close.
      busy: (conn, socket) => conn.inFlight > 0 || socket.writableEnded,
      // FIN after the replies written.
      close: (socket) => socket.end(),
    });
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
    markTcpClosing(this.strategy);
    if (this.listener?.listening) this.listener.close();
  }

  override async drain(): Promise<void> {
    await this.idle.start();
    await super.drain();
  }

  override async forceClose(): Promise<void> {
    this.idle.stop();
    await super.forceClose();
  }

  override pending(): string[] {
    return [`${this.name}: ${this.handlers.size} request(s) in flight, ${this.idle.connections.size} connection(s) open`];
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
        if (--conn.inFlight === 0) this.idle.idleFromNow(conn, socket);
      });
    };
  }

  private track(socket: Socket): Connection {
    return this.idle.track(socket, () => ({ inFlight: 0 }));
  }
}

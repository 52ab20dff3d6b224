import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { settleWithin } from '../pipeline/timing.js';
import { FORCE_CLOSE_GRACE_MS } from './http.drainer.js';

/**
 * Drains a bare `net.Server` (or `tls.Server`) the app made itself. It speaks no protocol
 * the module knows, so there is no "request in flight" to wait for, only connections:
 *
 * - intake: the listening socket closes, so new connections are refused;
 * - the connections already open are left to finish: the drain is over when the last
 *   one has closed (the app's protocol, or its client, closes them);
 * - at the phase timeout each open connection is ended (FIN, after what was written),
 *   and destroyed if it is still open `FORCE_CLOSE_GRACE_MS` later; the report names
 *   how many were open.
 *
 * It cannot tell an idle connection from a busy one, so it closes none early: an app
 * whose clients keep connections open should end them itself on `quit.signal`.
 * Connections are followed from registration on: one opened before is not waited for.
 */
export class NetDrainer implements TransportDrainer {
  readonly transport = 'tcp' as const;
  /** Each open socket, with its 'close' listener (taken off by `dispose`). */
  private readonly sockets = new Map<Socket, () => void>();
  private label = 'net';
  private empty?: () => void;
  private readonly event: 'secureConnection' | 'connection';
  private readonly onConnection = (socket: Socket) => this.track(socket);

  constructor(private readonly server: NetServer) {
    this.event = server instanceof TlsServer ? 'secureConnection' : 'connection';
    server.on(this.event, this.onConnection);
  }

  get name(): string {
    return this.label;
  }

  stopIntake(): void {
    const address = this.server.address() as AddressInfo | string | null;
    if (address) this.label = typeof address === 'string' ? `net:${address}` : `net:${address.port}`;
    if (this.server.listening) NetServer.prototype.close.call(this.server);
  }

  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.empty = resolve;
      this.check();
    });
  }

  async forceClose(): Promise<void> {
    this.empty = undefined;
    const open = [...this.sockets.keys()];
    const closed = Promise.all(open.map((socket) => new Promise((resolve) => socket.once('close', resolve))));
    for (const socket of open) socket.end();
    await settleWithin(closed, FORCE_CLOSE_GRACE_MS);
    for (const socket of this.sockets.keys()) socket.destroy();
  }

  /** Unregistered: the server and its sockets lose the listeners the drainer put on them. */
  dispose(): void {
    this.server.off(this.event, this.onConnection);
    for (const [socket, onClose] of this.sockets) socket.off('close', onClose);
    this.sockets.clear();
    this.empty = undefined;
  }

  pending(): string[] {
    return [`${this.name}: ${this.sockets.size} connection(s) open`];
  }

  private track(socket: Socket): void {
    const onClose = () => {
      this.sockets.delete(socket);
      this.check();
    };
    this.sockets.set(socket, onClose);
    socket.once('close', onClose);
  }

  private check(): void {
    if (this.sockets.size === 0) this.empty?.();
  }
}

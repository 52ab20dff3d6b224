import type { Socket } from 'node:net';

/** What the idle rule keeps of a connection. */
export interface IdleConnection {
  idleSince: number;
  /** `socket.bytesRead` when it went idle: more bytes since mean a message is arriving. */
  bytesAtIdle: number;
}

export interface IdleRule<C extends IdleConnection> {
  /** A reply is still owed on the connection. */
  busy(conn: C, socket: Socket): boolean;
  /** Ends an idle connection (the protocol's own way: FIN, a TLS close_notify first…). */
  close(socket: Socket): void;
  /** Something besides the connections the drain still waits for (HTTP/2 sessions). */
  othersOpen?(): boolean;
}

/**
 * The idle rule of the keep-alive drains (HTTP/1.1, and Nest's TCP transport, whose
 * clients also send every request over one kept connection): a connection with no reply
 * owed is closed only once it has been idle for `graceMs` with no byte of a new message
 * arriving on it — a client that has just picked it for its next message is answered
 * rather than cut off. The drain is over when no connection is left.
 *
 * It follows the connections from the first one on (`track`), but sweeps only from
 * `start()`: before the drain it costs one map entry per connection.
 */
export class IdleSweeper<C extends IdleConnection> {
  readonly connections = new Map<Socket, C>();
  private sweeping = false;
  private graceMs: number;
  private timer?: NodeJS.Timeout;
  private queued = false;
  private empty?: () => void;
  private emptied?: Promise<void>;

  constructor(
    graceMs: number,
    private readonly rule: IdleRule<C>,
  ) {
    this.graceMs = graceMs;
  }

  /** Follows `socket` until it closes; `make` builds its entry the first time. */
  track(socket: Socket, make: () => Omit<C, keyof IdleConnection>): C {
    let conn = this.connections.get(socket);
    if (conn) return conn;
    conn = { ...make(), idleSince: Date.now(), bytesAtIdle: socket.bytesRead } as C;
    this.connections.set(socket, conn);
    socket.once('close', () => {
      this.connections.delete(socket);
      this.request();
    });
    return conn;
  }

  /** The connection's last reply is out: its idle time starts now. */
  idleFromNow(conn: C, socket: Socket): void {
    conn.idleSince = Date.now();
    conn.bytesAtIdle = socket.bytesRead;
    this.request();
  }

  /**
   * Starts the drain: how long a connection had been idle before is not known (recording
   * it would cost every request), so each counts as idle from now — erring on the safe
   * side. Resolves once no connection is left.
   */
  start(): Promise<void> {
    if (!this.sweeping) {
      this.sweeping = true;
      for (const [socket, conn] of this.connections) {
        conn.idleSince = Date.now();
        conn.bytesAtIdle = socket.bytesRead;
      }
      this.emptied = new Promise((resolve) => (this.empty = resolve));
      this.request();
    }
    return this.emptied!;
  }

  /** From now on an idle connection is closed at once (the phase timeout). */
  closeIdleNow(): void {
    this.graceMs = 0;
    this.request();
  }

  /** Stops sweeping (the drain is over or given up). */
  stop(): void {
    clearTimeout(this.timer);
    this.sweeping = false;
  }

  /** Sweeps in the check phase, after the poll phase has read whatever bytes had arrived. */
  request(): void {
    if (!this.sweeping || this.queued) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      this.sweep();
    });
  }

  private sweep(): void {
    if (!this.sweeping) return;
    clearTimeout(this.timer);
    const now = Date.now();
    let next = Infinity;
    for (const [socket, conn] of this.connections) {
      if (this.rule.busy(conn, socket)) continue;
      if (socket.bytesRead !== conn.bytesAtIdle) {
        // Bytes of a message are arriving: not idle, whatever the clock says.
        conn.idleSince = now;
        conn.bytesAtIdle = socket.bytesRead;
      }
      const due = conn.idleSince + this.graceMs;
      if (due <= now) this.rule.close(socket);
      else next = Math.min(next, due);
    }
    if (this.connections.size === 0 && !this.rule.othersOpen?.()) {
      this.empty?.();
      return;
    }
    if (next !== Infinity) this.timer = setTimeout(() => this.request(), Math.max(1, next - now));
  }
}

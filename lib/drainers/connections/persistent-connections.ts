import { settleWithin } from '../../pipeline/timing.js';

/** How a protocol ends one of its connections. */
export interface ConnectionProtocol<C> {
  /**
   * Says goodbye in the protocol's own words once nothing is in flight on `conn`: a
   * WebSocket close 1001, a Socket.IO transport close the client reconnects from, the end
   * of an SSE stream, a TCP FIN. The connection is then closed by the peer's answer, and
   * its owner calls `closed(conn)`.
   */
  goodbye(conn: C): void;
  /** Ends `conn` at once (the phase timeout). */
  destroy(conn: C): void;
}

/**
 * The drain of the connections that outlive a request — a WebSocket, a Socket.IO client,
 * a Nest TCP client, an SSE stream are all one thing here: a connection on which messages
 * start handlers. From the start of the drain each connection finishes the handlers it
 * has started (their replies and acks are written), then says goodbye as soon as it has
 * nothing in flight; a message that arrives after the goodbye is not started (the client
 * sees the close and sends it elsewhere). The drain is over when every connection has
 * closed: about as long as the slowest handler in flight, whatever the number of idle
 * connections.
 *
 * State is one number per connection (the handlers in flight; negative once the goodbye
 * was said), and each connection is visited only when its own state changes.
 */
export class PersistentConnections<C extends object> {
  private readonly open = new Map<C, number>();
  /** When each connection last carried a message or a reply (only kept with a grace). */
  private readonly active = new Map<C, number>();
  private draining = false;
  private handlers = 0;
  private empty?: () => void;
  private emptied?: Promise<void>;
  /** Idle connections waiting out their grace at the drain's start, in order of due time. */
  private waiting: Array<{ conn: C; due: number }> = [];
  private timer?: NodeJS.Timeout;

  /**
   * @param graceMs the keep-alive rule of the HTTP drain (docs/HTTP.md), for protocols
   *   whose clients may be writing their next message as the drain starts: a connection
   *   with nothing in flight at the start of the drain gets its goodbye once `graceMs` has
   *   passed since its last message or reply (at once if it has been quiet that long). A
   *   client that has just had a reply and sends its next message right away would
   *   otherwise cross the goodbye (its message arrives after the close was sent, and is
   *   not started); within the grace it is served, and its connection says goodbye right
   *   after that reply, which the client reads before the close. 0 (the default): the
   *   goodbye goes at once — for a transport that stops reading at the drain's start
   *   (Nest's TCP), where waiting would serve nothing.
   */
  constructor(
    private readonly protocol: ConnectionProtocol<C>,
    private readonly graceMs = 0,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Connections open now. */
  get size(): number {
    return this.open.size;
  }

  /** Message handlers running now, on every connection. */
  get inFlight(): number {
    return this.handlers;
  }

  /** Follows `conn` until `closed(conn)`. One that opens during the drain gets its goodbye at once. */
  add(conn: C): void {
    if (this.open.has(conn)) return;
    this.open.set(conn, 0);
    if (this.draining) this.leave(conn);
    else this.touch(conn);
  }

  /** `conn` has closed, whoever closed it. */
  closed(conn: C): void {
    const state = this.open.get(conn);
    if (state === undefined) return;
    // Handlers still running on a connection the peer dropped are no longer waited for
    // here: their replies have nowhere to go (the transport's own counter, if any, still
    // waits for them).
    if (state > 0) this.handlers -= state;
    this.open.delete(conn);
    this.active.delete(conn);
    this.check();
  }

  /**
   * A message on `conn` is about to start its handler. False when the connection has said
   * goodbye, or is not followed (never added, or closed): the handler must not start. A
   * connection is added, with the listener that reports its close, where it first becomes
   * known; one that was not would never be seen to close, and the drain would wait for it
   * until the phase timeout. Every `true` must be matched by one `end(conn)`.
   */
  begin(conn: C): boolean {
    const state = this.open.get(conn);
    if (state === undefined || state < 0) return false;
    this.open.set(conn, state + 1);
    this.handlers++;
    return true;
  }

  /** The handler started by `begin(conn)` has written its reply. */
  end(conn: C): void {
    const state = this.open.get(conn);
    if (state === undefined || state <= 0) return;
    this.handlers--;
    this.open.set(conn, state - 1);
    if (state > 1) return;
    // During the drain the goodbye follows the last reply at once: the client reads the
    // reply, then the close, before it could send on the connection again. Before it, the
    // time of the last reply is what the drain reads of an idle connection (a message's
    // arrival is always followed by its reply's).
    if (this.draining) this.leave(conn);
    else this.touch(conn);
  }

  /** Starts the drain; resolves once every connection has closed. */
  drain(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.emptied = new Promise((resolve) => (this.empty = resolve));
      const now = this.clock();
      for (const [conn, state] of this.open) {
        if (state !== 0) continue;
        const due = (this.active.get(conn) ?? -Infinity) + this.graceMs;
        if (due <= now) this.leave(conn);
        else this.waiting.push({ conn, due });
      }
      this.waiting.sort((a, b) => a.due - b.due);
      this.wake();
      this.check();
    }
    return this.emptied!;
  }

  /** Ends every connection still open (the phase timeout). */
  forceClose(): void {
    this.stopWaiting();
    for (const conn of [...this.open.keys()]) this.protocol.destroy(conn);
  }

  /**
   * The phase timeout, gently: every connection still open gets its goodbye now, handlers
   * in flight or not (their replies are given up; nothing starts after it), and those not
   * closed within `graceMs` are ended with `forceClose()`. Resolves when each connection
   * has closed or been destroyed.
   */
  async closeAll(graceMs: number): Promise<void> {
    const emptied = this.drain();
    this.stopWaiting();
    for (const [conn, state] of [...this.open]) {
      if (state < 0) continue;
      this.handlers -= state;
      this.leave(conn);
    }
    if (this.open.size === 0) return;
    await settleWithin(emptied, graceMs);
    this.forceClose();
  }

  private leave(conn: C): void {
    this.open.set(conn, -1);
    this.active.delete(conn);
    this.protocol.goodbye(conn);
  }

  private touch(conn: C): void {
    if (this.graceMs > 0) this.active.set(conn, this.clock());
  }

  /** Says goodbye to the idle connections whose grace is over; one timer for the next one due. */
  private wake(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock();
    let i = 0;
    for (; i < this.waiting.length && this.waiting[i]!.due <= now; i++) {
      const { conn } = this.waiting[i]!;
      // Still idle: goodbye. Busy since: it leaves after its reply. Gone or gone already: nothing.
      if (this.open.get(conn) === 0) this.leave(conn);
    }
    this.waiting = this.waiting.slice(i);
    const next = this.waiting[0];
    if (next) this.timer = setTimeout(() => this.wake(), Math.max(1, Math.ceil(next.due - now)));
  }

  private stopWaiting(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = [];
  }

  private check(): void {
    if (this.draining && this.open.size === 0) {
      this.stopWaiting();
      this.empty?.();
    }
  }
}

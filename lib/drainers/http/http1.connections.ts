import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NodeHttpReach } from '../../internals/node-http.js';
import { IdleQueue } from './idle-queue.js';
import { endResponse, endsEarly } from './responses.js';

/** When the connection was last seen going idle, on the drain's clock (set during the drain only). */
const IDLE_SINCE = Symbol('nestjs-quit:idle-since');
/** `socket.bytesRead` then: more bytes since mean a request is arriving. */
const BYTES_AT_IDLE = Symbol('nestjs-quit:bytes-at-idle');
/** Its latest response: only where Node keeps no `_httpMessage` (see `NodeHttpReach`). */
const LATEST = Symbol('nestjs-quit:latest');
/** A response whose end the drain waits for. */
const FOLLOWED = Symbol('nestjs-quit:followed');

/**
 * Closes an idle socket: nothing is left to write, so closing a TCP socket sends its FIN
 * at once (`destroy()`, one step); a TLS socket first writes its close_notify
 * (`destroySoon()`: end, then destroy once written).
 */
function closeIdle(socket: Socket): void {
  if ((socket as Socket & { encrypted?: boolean }).encrypted) socket.destroySoon();
  else socket.destroy();
}

type TrackedSocket = Socket & { [IDLE_SINCE]?: number; [BYTES_AT_IDLE]?: number; [LATEST]?: ServerResponse };
type FollowedResponse = ServerResponse & { [FOLLOWED]?: true };

/**
 * The HTTP/1 connections of a server and their drain. Before the drain a connection
 * costs one set entry and one shared 'close' listener; nothing runs per request (what a
 * connection owes is read from Node's own `_httpMessage`). From `drain()` on:
 *
 * - a connection with a response owed is followed to that response's end ('finish',
 *   one listener shared by all); a response not yet started gets `Connection: close`,
 *   so Node closes the socket after it; an event stream ends at once;
 * - an idle connection closes once `graceMs` has passed since its last byte (read or
 *   written) with no byte of a new request arriving — at once if it was idle that long
 *   before the drain (see docs/HTTP.md for why that is as safe as waiting);
 * - each connection is looked at when its state changes or when it falls due (an
 *   `IdleQueue`), not on every sweep.
 */
export class Http1Connections {
  readonly sockets = new Set<Socket>();
  private readonly reach = NodeHttpReach.available();
  /** The libuv loop clock when Node's socket timers can be read (their start times are on it), else the monotonic clock. */
  private readonly clock: () => number = this.reach.lastByte ? NodeHttpReach.loopNow : () => performance.now();
  private readonly queue: IdleQueue<Socket>;
  private draining = false;
  private readonly onSocketClose: (this: Socket) => void;
  private readonly onResponseFinish: (this: ServerResponse) => void;

  constructor(
    private readonly graceMs: number,
    /** Called whenever a connection closes during the drain. */
    private readonly changed: () => void,
  ) {
    const self = this;
    this.onSocketClose = function (this: Socket) {
      self.sockets.delete(this);
      if (self.draining) self.changed();
    };
    this.onResponseFinish = function (this: ServerResponse) {
      self.finished(this);
    };
    this.queue = new IdleQueue<Socket>(
      { dueAt: (socket, now) => this.dueAt(socket as TrackedSocket, now), close: closeIdle },
      this.clock,
      Math.max(1, Math.min(5, graceMs / 10)),
    );
  }

  /** Whether Node's internals the drain reads were found (else it falls back, at some cost per request). */
  get fullReach(): { httpMessage: boolean; lastByte: boolean } {
    return this.reach;
  }

  track(socket: Socket): void {
    if (this.sockets.has(socket)) return;
    this.sockets.add(socket);
    socket.on('close', this.onSocketClose);
    // A TLS connection whose handshake ends during the drain: idle from now.
    if (this.draining) {
      const now = this.clock();
      (socket as TrackedSocket)[IDLE_SINCE] = now;
      (socket as TrackedSocket)[BYTES_AT_IDLE] = socket.bytesRead;
      this.queue.push(socket, now + this.graceMs);
    }
  }

  /** Stops following a socket that is no longer HTTP/1 (upgraded, or an HTTP/2 session's). */
  forget(socket: Socket): void {
    if (this.sockets.delete(socket)) socket.removeListener('close', this.onSocketClose);
  }

  /** Only where `_httpMessage` is missing: remembers the latest response of its socket. */
  remember(res: ServerResponse): void {
    if (res.socket) (res.socket as TrackedSocket)[LATEST] = res;
  }

  /** The response the connection owes, if any. */
  owed(socket: Socket): ServerResponse | undefined {
    if (this.reach.httpMessage) return NodeHttpReach.currentResponse(socket);
    const latest = (socket as TrackedSocket)[LATEST];
    return latest && !latest.writableFinished ? latest : undefined;
  }

  /**
   * Starts the drain: every connection is looked at once, here, and then only when it
   * changes. Synchronous at the signal and linear in the connections, so nothing is
   * allocated for the (usually many) ones idle longer than the grace: they are closed
   * first, in any order.
   */
  drain(): void {
    this.draining = true;
    const now = this.clock();
    const overdue: Socket[] = [];
    const later: Array<{ item: Socket; due: number }> = [];
    for (const socket of this.sockets) {
      const res = this.owed(socket);
      if (res) {
        this.follow(res);
        continue;
      }
      const s = socket as TrackedSocket;
      // Idle since its last byte if Node's timer tells it, else (erring on the safe side) since now.
      const since = (this.reach.lastByte ? NodeHttpReach.lastByteAt(socket) : undefined) ?? now;
      s[IDLE_SINCE] = since;
      s[BYTES_AT_IDLE] = socket.bytesRead;
      if (since + this.graceMs <= now) overdue.push(socket);
      else later.push({ item: socket, due: since + this.graceMs });
    }
    this.queue.pushAll(overdue, later);
  }

  /** A request that arrives during the drain: served, then its connection closes. */
  request(_req: IncomingMessage, res: ServerResponse): void {
    this.follow(res);
  }

  /** The phase timeout: responses under way end as complete bodies, idle connections close now. */
  forceClose(): void {
    this.queue.flush();
    for (const socket of this.sockets) {
      const res = this.owed(socket);
      if (res) endResponse(res);
      else if (!socket.writableEnded) socket.destroySoon();
    }
  }

  /** No longer this drainer's (an own server unregistered): the connections are let go, not closed. */
  dispose(): void {
    this.queue.stop();
    for (const socket of this.sockets) socket.removeListener('close', this.onSocketClose);
    this.sockets.clear();
  }

  /** What the grace after the force-close leaves: destroyed. */
  destroy(): void {
    this.queue.stop();
    for (const socket of this.sockets) socket.destroy();
  }

  busyCount(): number {
    let n = 0;
    for (const socket of this.sockets) if (this.owed(socket)) n++;
    return n;
  }

  private follow(res: FollowedResponse): void {
    if (res[FOLLOWED]) return;
    res[FOLLOWED] = true;
    // Before Node's own 'finish' listener, which detaches the socket from the response.
    res.prependListener('finish', this.onResponseFinish);
    endsEarly(res);
  }

  private finished(res: ServerResponse): void {
    const socket = res.socket as TrackedSocket | null;
    if (!socket || !this.sockets.has(socket)) return;
    const now = this.clock();
    socket[IDLE_SINCE] = now;
    socket[BYTES_AT_IDLE] = socket.bytesRead;
    this.queue.push(socket, now + this.graceMs);
  }

  private dueAt(socket: TrackedSocket, now: number): number | undefined {
    if (!this.sockets.has(socket) || socket.destroyed) return undefined;
    const res = this.owed(socket);
    if (res) {
      // A pipelined response that was queued behind the one that just finished.
      this.follow(res);
      return undefined;
    }
    const bytesRead = socket.bytesRead;
    if (bytesRead !== socket[BYTES_AT_IDLE]) {
      // Bytes of a request are arriving: not idle, whatever the clock says.
      socket[IDLE_SINCE] = now;
      socket[BYTES_AT_IDLE] = bytesRead;
    }
    // No byte read since IDLE_SINCE was set, and nothing written on an idle connection
    // (a response would have made it owed): its last byte is still the one then.
    return (socket[IDLE_SINCE] ?? now) + this.graceMs;
  }
}

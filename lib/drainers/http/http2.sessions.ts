import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { endResponse, endsEarly } from './responses.js';

/** The largest stream id: a GOAWAY carrying it refuses no stream the server has taken (RFC 9113 §6.8). */
const SHUTDOWN_NOTICE_STREAM_ID = 2 ** 31 - 1;

/** While a session's first GOAWAY is still queued (its socket is busy writing), how often to look again. */
const NOTICE_RETRY_MS = 5;

/** Set through `session.socket` (a proxy that sets properties on the real socket): the session a socket carries. */
export const H2_SESSION = Symbol('nestjs-quit:h2-session');
/** The state of the session a response belongs to, for the shared 'close' listener. */
const SESSION = Symbol('nestjs-quit:session');

interface SessionState {
  session: Http2Session;
  responses: Set<Http2ServerResponse>;
  /** The real socket: `session.socket` is a proxy that refuses `destroy()`. */
  socket?: Socket;
  /** The first GOAWAY (last stream id 2³¹−1) is submitted. */
  noticed: boolean;
  /** The final GOAWAY is submitted (`session.close()`). */
  closing: boolean;
  /** Set once the session has written its last frame and ended its socket: the peer's time to close. */
  linger?: NodeJS.Timeout;
  /** Its 'close' listener (taken off by `dispose`). */
  onClose: () => void;
}

type TrackedResponse = Http2ServerResponse & { [SESSION]?: SessionState };

/**
 * The HTTP/2 sessions of a server and their drain.
 *
 * RFC 9113 §6.8 describes a graceful shutdown in two steps: a GOAWAY with last stream id
 * 2³¹−1, after which the server still accepts the streams the client opened before it saw
 * it, then, a round trip later (a PING), the final GOAWAY. A Node server cannot take the
 * first step: `session.goaway()` is nghttp2's `nghttp2_submit_goaway()`, never its
 * `nghttp2_submit_shutdown_notice()`, and once nghttp2 has written any GOAWAY of that kind
 * (nghttp2 1.61, `session_allow_incoming_new_stream`, `nghttp2_session_want_read`) it
 *
 * - ignores every new stream the client opens: no answer, no RST_STREAM; the client waits
 *   until a later GOAWAY tells it the stream was not processed;
 * - drops every byte it reads as soon as the session has no stream left
 *   (`nghttp2_session_mem_recv` returns at once when `want_read()` is 0) — the PING ACK
 *   included. A session whose last stream answered before the ACK came never saw it: its
 *   final GOAWAY waited for a timer (2 s), and so did its client's ignored streams.
 *
 * So no stream that arrives after the first GOAWAY is written can be served, however long
 * the server waits; waiting only delays the client's retry. The drain is:
 *
 * - the GOAWAY with 2³¹−1: the client opens no new stream, and intake stops when it is
 *   written without refusing a stream nghttp2 has already read;
 * - as soon as it is written (the session's outbound queue is empty), the final GOAWAY
 *   (`session.close()`): its last stream id is now exactly the last stream taken, and
 *   every stream the client sent after that is refused at once, which the client may retry
 *   elsewhere (RFC 9113 §8.7). The final GOAWAY alone would race: a stream read between
 *   its submission and its writing would reach the app and then be reset by it;
 * - open streams complete; an event stream ends at once; Node closes the session when its
 *   last stream has answered and ends the socket once its last frame is written; a peer
 *   that has not closed its side `graceMs` after that has its socket destroyed (it was
 *   told, and owes nothing);
 * - at the phase timeout, streams under way end cleanly, and each session's real socket
 *   is destroyed as soon as its last frame is written (`session.destroy()` on a closed
 *   session only ends the socket and waits for the peer).
 */
export class Http2Sessions {
  readonly sessions = new Map<Http2Session, SessionState>();
  private draining = false;
  private forced = false;
  private finalScheduled = false;
  private readonly onResponseClose: (this: TrackedResponse) => void;

  constructor(
    private readonly graceMs: number,
    /** Called whenever a session closes during the drain. */
    private readonly changed: () => void,
  ) {
    const self = this;
    this.onResponseClose = function (this: TrackedResponse) {
      const state = this[SESSION];
      if (!state) return;
      state.responses.delete(this);
      if (state.responses.size === 0) self.lastStreamDone(state);
    };
  }

  get size(): number {
    return this.sessions.size;
  }

  onSession(session: Http2Session): void {
    const state: SessionState = {
      session,
      responses: new Set(),
      noticed: false,
      closing: false,
      onClose: () => {
        clearTimeout(state.linger);
        this.sessions.delete(session);
        if (this.draining) this.changed();
      },
    };
    this.sessions.set(session, state);
    const socket = session.socket as unknown as Record<symbol, unknown> | undefined;
    if (socket) socket[H2_SESSION] = session;
    session.once('close', state.onClose);
    if (this.draining) {
      this.announce(state);
      this.scheduleFinal(0);
    }
  }

  /** The server's connection listener made a session for this socket: it is that session's. */
  onSocket(socket: Socket): boolean {
    const session = (socket as Socket & { [H2_SESSION]?: Http2Session })[H2_SESSION];
    const state = session && this.sessions.get(session);
    if (!state) return false;
    state.socket = socket;
    return true;
  }

  onStream(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const state = this.sessions.get(req.stream.session as Http2Session);
    if (!state) return;
    state.responses.add(res);
    (res as TrackedResponse)[SESSION] = state;
    res.once('close', this.onResponseClose);
    if (this.draining) endsEarly(res);
  }

  drain(): void {
    this.draining = true;
    for (const state of this.sessions.values()) {
      this.announce(state);
      for (const res of state.responses) endsEarly(res);
    }
    if (this.sessions.size) this.scheduleFinal(0);
  }

  /** The phase timeout: streams end cleanly, sessions get their final GOAWAY, and each goes once its streams are written. */
  forceClose(): void {
    this.forced = true;
    for (const state of this.sessions.values()) {
      for (const res of state.responses) endResponse(res);
      this.closeGracefully(state);
      if (state.responses.size === 0) this.destroyWhenWritten(state);
    }
  }

  /** No longer this drainer's (an own server unregistered): sessions and streams let go, not closed. */
  dispose(): void {
    for (const state of this.sessions.values()) {
      clearTimeout(state.linger);
      state.session.removeListener('close', state.onClose);
      for (const res of state.responses) res.removeListener('close', this.onResponseClose);
    }
    this.sessions.clear();
  }

  /** Destroys the real sockets of the sessions left. */
  destroy(): void {
    for (const state of this.sessions.values()) this.destroySocket(state);
  }

  streamCount(): number {
    let n = 0;
    for (const state of this.sessions.values()) n += state.responses.size;
    return n;
  }

  private announce(state: SessionState): void {
    const { session } = state;
    if (state.noticed || session.destroyed) return;
    state.noticed = true;
    // A session already closed (Node closes one whose peer sent a GOAWAY) has sent its final GOAWAY.
    if (!session.closed) session.goaway(0, SHUTDOWN_NOTICE_STREAM_ID);
  }

  /**
   * One pass for all sessions, on the next turn of the event loop: Node writes what a
   * session has queued in a native immediate, which runs before this one. A session whose
   * socket was still busy writing (its queue not empty) is looked at again shortly.
   */
  private scheduleFinal(delayMs: number): void {
    if (this.finalScheduled) return;
    this.finalScheduled = true;
    const run = () => {
      this.finalScheduled = false;
      this.sendFinal();
    };
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }

  private sendFinal(): void {
    let waiting = false;
    for (const state of this.sessions.values()) {
      const { session } = state;
      if (!state.noticed || state.closing || session.destroyed) continue;
      // `outboundQueueSize`: the frames nghttp2 has not serialized yet (DATA aside); the
      // first GOAWAY among them until it is written.
      if (!session.closed && (session.state.outboundQueueSize ?? 0) > 0) waiting = true;
      else this.closeGracefully(state);
    }
    if (waiting) this.scheduleFinal(NOTICE_RETRY_MS);
  }

  private closeGracefully(state: SessionState): void {
    const { session } = state;
    if (state.closing || session.destroyed) return;
    state.closing = true;
    if (!session.closed) session.close();
    if (state.responses.size === 0) this.lastStreamDone(state);
  }

  private lastStreamDone(state: SessionState): void {
    if (this.forced) this.destroyWhenWritten(state);
    else if (state.closing) this.lingerWhenWritten(state);
  }

  /** After the final GOAWAY, the last answer and the last frame: the peer gets `graceMs` to close its side, then the socket goes. */
  private lingerWhenWritten(state: SessionState): void {
    this.whenWritten(state, () => {
      if (state.linger || !this.sessions.has(state.session)) return;
      state.linger = setTimeout(() => this.destroySocket(state), this.graceMs);
    });
  }

  private destroyWhenWritten(state: SessionState): void {
    this.whenWritten(state, () => this.destroySocket(state));
  }

  /**
   * Runs `then` once the session has written its last frame: a closed session with no
   * stream left is destroyed by Node once nothing is pending, which ends the socket;
   * its 'finish' comes when the end (and everything before it) is handed to the kernel.
   * A peer that reads nothing never gets there: the drainer's last `destroy()` deals with it.
   */
  private whenWritten(state: SessionState, then: () => void): void {
    const socket = state.socket;
    if (!socket || socket.destroyed || socket.writableFinished) return then();
    socket.once('finish', then);
  }

  private destroySocket(state: SessionState): void {
    if (!this.sessions.has(state.session)) return;
    if (state.socket) state.socket.destroy();
    else state.session.destroy();
  }
}

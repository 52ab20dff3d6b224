import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { endResponse, endsEarly } from './responses.js';

/** The largest stream id: a GOAWAY carrying it announces the shutdown without refusing any stream (RFC 9113 §6.8). */
const SHUTDOWN_NOTICE_STREAM_ID = 2 ** 31 - 1;

/** How long a peer gets to answer the PING before it gets the final GOAWAY anyway. */
const PING_ACK_TIMEOUT_MS = 2_000;

/** Set through `session.socket` (a proxy that sets properties on the real socket): the session a socket carries. */
export const H2_SESSION = Symbol('nestjs-quit:h2-session');
/** The state of the session a response belongs to, for the shared 'close' listener. */
const SESSION = Symbol('nestjs-quit:session');

interface SessionState {
  session: Http2Session;
  responses: Set<Http2ServerResponse>;
  /** The real socket: `session.socket` is a proxy that refuses `destroy()`. */
  socket?: Socket;
  /** The final GOAWAY is sent (`session.close()`). */
  closing: boolean;
  /** Set once its last stream has answered after the final GOAWAY: the peer's time to close. */
  linger?: NodeJS.Timeout;
}

type TrackedResponse = Http2ServerResponse & { [SESSION]?: SessionState };

/**
 * The HTTP/2 sessions of a server and their drain (RFC 9113 §6.8's graceful shutdown):
 *
 * - a GOAWAY that refuses nothing (last stream id 2³¹−1), then a PING; its ACK means
 *   every stream the client opened before it saw the GOAWAY has arrived, so the final
 *   GOAWAY (`session.close()`) follows at once, refusing nothing the client sent in time;
 *   a peer that does not answer the PING gets the final GOAWAY after 2 s (or `graceMs`);
 * - open streams complete; an event stream ends at once; the session closes when its
 *   last stream has answered and the peer has closed its side — a peer that has not
 *   closed `graceMs` after that has its socket destroyed (it was told, and owes nothing);
 * - at the phase timeout, streams under way end cleanly, and once they are written the
 *   session's real socket is destroyed (`session.destroy()` on a closed session only
 *   ends the socket and waits for the peer).
 */
export class Http2Sessions {
  readonly sessions = new Map<Http2Session, SessionState>();
  private draining = false;
  private forced = false;
  private readonly onResponseClose: (this: TrackedResponse) => void;

  constructor(
    private readonly graceMs: number,
    /** Called whenever a session closes, or its last stream does once forced. */
    private readonly changed: () => void,
  ) {
    const self = this;
    this.onResponseClose = function (this: TrackedResponse) {
      const state = this[SESSION];
      if (!state) return;
      state.responses.delete(this);
      if (state.closing) self.lingerIfDone(state);
      if (self.forced) self.changed();
    };
  }

  get size(): number {
    return this.sessions.size;
  }

  onSession(session: Http2Session): void {
    const state: SessionState = { session, responses: new Set(), closing: false };
    this.sessions.set(session, state);
    const socket = session.socket as unknown as Record<symbol, unknown> | undefined;
    if (socket) socket[H2_SESSION] = session;
    session.once('close', () => {
      clearTimeout(state.linger);
      this.sessions.delete(session);
      if (this.draining) this.changed();
    });
    if (this.draining) this.announce(session, state);
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
    for (const [session, state] of this.sessions) {
      this.announce(session, state);
      for (const res of state.responses) endsEarly(res);
    }
    // The peers that did not answer the PING (RFC 9113 §6.7 requires it): one timer for all
    // of them. Generous, since a peer that is merely slow would have streams in transit refused.
    if (this.sessions.size) setTimeout(() => this.sessions.forEach((state, session) => this.closeGracefully(session, state)), Math.max(this.graceMs, PING_ACK_TIMEOUT_MS)).unref();
  }

  /** The phase timeout: streams end cleanly, sessions get their final GOAWAY. */
  forceClose(): void {
    this.forced = true;
    for (const [session, state] of this.sessions) {
      for (const res of state.responses) endResponse(res);
      this.closeGracefully(session, state);
    }
  }

  /** Whether every stream is answered (once forced, the sockets can go). */
  streamsDone(): boolean {
    for (const state of this.sessions.values()) if (state.responses.size) return false;
    return true;
  }

  /** Destroys the real sockets of the sessions left: their streams are answered, their peers did not close. */
  destroy(): void {
    for (const [session, state] of this.sessions) {
      if (state.socket) state.socket.destroy();
      else session.destroy();
    }
  }

  streamCount(): number {
    let n = 0;
    for (const state of this.sessions.values()) n += state.responses.size;
    return n;
  }

  private announce(session: Http2Session, state: SessionState): void {
    if (session.closed || session.destroyed) return;
    session.goaway(0, SHUTDOWN_NOTICE_STREAM_ID);
    try {
      session.ping(() => this.closeGracefully(session, state));
    } catch {
      this.closeGracefully(session, state);
    }
  }

  private closeGracefully(session: Http2Session, state: SessionState): void {
    if (state.closing || session.destroyed) return;
    state.closing = true;
    session.close();
    this.lingerIfDone(state);
  }

  /** After the final GOAWAY and the last answer: the peer gets `graceMs` to close its side, then the socket goes. */
  private lingerIfDone(state: SessionState): void {
    if (state.linger || state.responses.size > 0) return;
    state.linger = setTimeout(() => {
      if (!this.sessions.has(state.session)) return;
      if (state.socket) state.socket.destroy();
      else state.session.destroy();
    }, this.graceMs);
  }
}

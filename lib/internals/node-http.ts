/**
 * The one place where the HTTP drainer reaches past Node's public HTTP API. Read from
 * Node 20.20 (`lib/_http_server.js`, `lib/_http_outgoing.js`, `lib/net.js`,
 * `lib/internal/timers.js`, `lib/internal/stream_base_commons.js`,
 * `lib/internal/http2/compat.js`); the same fields exist in Node 18 and 22.
 *
 * Each reach is probed before use. A missing field costs precision, never the drain:
 * `NodeHttpReach` says what is available and the drainer falls back to the public API
 * (and warns once).
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { Socket } from 'node:net';

/** The fields read, all of them Node's own (`_`-prefixed or symbol-keyed). */
interface SocketInternals {
  /** The response that owns the socket now (`OutgoingMessage#assignSocket`); `null` between responses. */
  _httpMessage?: ServerResponse | null;
}
interface TimeoutInternals {
  /** The libuv loop time (ms) the timer was last (re)started at: every read and write on the socket restarts it. */
  _idleStart?: number | null;
  /** The timer's duration; -1 once cleared. */
  _idleTimeout?: number;
}
interface OutgoingInternals {
  /** The status line and headers, as written (`OutgoingMessage#_storeHeader`). */
  _header?: string | null;
}

let probed: { httpMessage: boolean; timeoutKey?: symbol } | undefined;

/**
 * Checks once, on a socket and a response of its own, that Node still keeps the fields
 * read here: `_httpMessage` set by `assignSocket` and cleared by `detachSocket`, and a
 * `kTimeout` timer (a symbol Node does not export, found by its description) with a
 * start time.
 */
function probe(): { httpMessage: boolean; timeoutKey?: symbol } {
  if (probed) return probed;
  const socket = new Socket();
  try {
    const res = new ServerResponse(new IncomingMessage(socket));
    res.assignSocket(socket);
    const assigned = (socket as Socket & SocketInternals)._httpMessage === res;
    res.detachSocket(socket);
    const httpMessage = assigned && (socket as Socket & SocketInternals)._httpMessage === null;
    socket.setTimeout(60_000);
    const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'timeout');
    const timer = key && ((socket as unknown as Record<symbol, TimeoutInternals | undefined>)[key] ?? undefined);
    const timed = typeof timer?._idleStart === 'number' && timer._idleTimeout === 60_000;
    socket.setTimeout(0);
    probed = { httpMessage, timeoutKey: timed ? key : undefined };
  } catch {
    probed = { httpMessage: false };
  } finally {
    socket.destroy();
  }
  return probed;
}

export const NodeHttpReach = {
  /**
   * What of the above this Node has: `currentResponse` needs `httpMessage`, `lastByteAt`
   * needs `lastByte`.
   */
  available(): { httpMessage: boolean; lastByte: boolean } {
    const p = probe();
    return { httpMessage: p.httpMessage, lastByte: p.timeoutKey !== undefined && !Number.isNaN(NodeHttpReach.loopNow()) };
  },

  /** The response the socket is writing now (the first of any pipelined ones), if any. */
  currentResponse(socket: Socket): ServerResponse | undefined {
    return (socket as Socket & SocketInternals)._httpMessage ?? undefined;
  },

  /**
   * When the socket last read or wrote a byte, on the libuv loop clock (`loopNow`), or
   * undefined when that is not known. Node's HTTP server arms the socket's timer with
   * `keepAliveTimeout` as soon as a keep-alive response is finished, and every read and
   * write restarts it (`_unrefTimer`), so on an idle keep-alive socket its start time
   * is the time of the last byte. Without a running timer (a request in progress, a
   * connection that never sent one, `keepAliveTimeout` 0) it says nothing.
   */
  lastByteAt(socket: Socket): number | undefined {
    const key = probe().timeoutKey;
    const timer = key && ((socket as unknown as Record<symbol, TimeoutInternals | undefined>)[key] ?? undefined);
    if (!timer || typeof timer._idleStart !== 'number' || !(Number(timer._idleTimeout) > 0)) return undefined;
    return timer._idleStart;
  },

  /** The libuv loop clock (ms), the one `lastByteAt` is on: a new timer starts at it. */
  loopNow(): number {
    const probe = setTimeout(noop, 1_000) as unknown as TimeoutInternals;
    clearTimeout(probe as unknown as NodeJS.Timeout);
    return typeof probe._idleStart === 'number' ? probe._idleStart : NaN;
  },

  /**
   * Whether a response is a `text/event-stream`. Node keeps headers passed to
   * `writeHead(status, headers)` only in the header block it writes (`_header`), not
   * where `getHeader` looks (Nest's `SseStream` sets them so).
   */
  isEventStream(res: ServerResponse | Http2ServerResponse): boolean {
    const type = res.getHeader('content-type');
    if (type !== undefined) return /^\s*text\/event-stream/i.test(String(type));
    const header = (res as ServerResponse & OutgoingInternals)._header;
    return typeof header === 'string' && /\r\ncontent-type:\s*text\/event-stream/i.test(header);
  },
};

function noop(): void {
  /* a probe timer, cleared at once */
}

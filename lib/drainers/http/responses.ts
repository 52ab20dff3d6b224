import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { NodeHttpReach } from '../../internals/node-http.js';

type AnyResponse = ServerResponse | Http2ServerResponse;
type Hooked = AnyResponse & { [ORIGINAL_WRITE_HEAD]?: AnyResponse['writeHead'] };

const ORIGINAL_WRITE_HEAD = Symbol('nestjs-quit:write-head');

/**
 * A response found or started during the drain: one not started yet gets
 * `Connection: close` (HTTP/1), so Node closes its socket after it, and an event stream
 * ends at once — nothing is ever in flight on a push stream, and an `EventSource`
 * reconnects (elsewhere) with its `Last-Event-ID`. A response whose headers are already
 * out promised keep-alive: its socket is left to the idle rule.
 */
export function endsEarly(res: AnyResponse): void {
  if (res.headersSent) {
    if (NodeHttpReach.isEventStream(res)) endResponse(res);
    return;
  }
  if ('shouldKeepAlive' in res) res.setHeader('Connection', 'close');
  // Whether it becomes an event stream is known when its headers are written.
  const hooked = res as Hooked;
  if (hooked[ORIGINAL_WRITE_HEAD]) return;
  hooked[ORIGINAL_WRITE_HEAD] = hooked.writeHead;
  hooked.writeHead = writeHeadThenCheck as AnyResponse['writeHead'];
}

function writeHeadThenCheck(this: Hooked, ...args: unknown[]): unknown {
  const result = (this[ORIGINAL_WRITE_HEAD] as (...a: unknown[]) => unknown).apply(this, args);
  // After the caller's own first write (Nest's SseStream writes one right after the headers).
  if (NodeHttpReach.isEventStream(this)) process.nextTick(endResponse, this);
  return result;
}

/**
 * Ends a response without cutting it: one under way ends as a complete (shorter) body
 * — an SSE stream on a whole event, a chunked download on a whole chunk — and one not
 * started is answered 503. Whatever is still piped into it is refused from now on:
 * a write after the end would make Node raise an error on the response and, over HTTP/2,
 * reset the stream (`RST_STREAM INTERNAL_ERROR`) if its end was not yet flushed.
 */
export function endResponse(res: AnyResponse): void {
  // A source still piped into the response must not crash the process either.
  res.on('error', ignore);
  if (res.writableEnded) return;
  res.write = refuseWrite as AnyResponse['write'];
  const http1 = 'shouldKeepAlive' in res;
  if (!res.headersSent) {
    res.statusCode = 503;
    if (http1) res.setHeader('Connection', 'close');
  } else if (http1) {
    (res as ServerResponse).shouldKeepAlive = false;
  }
  res.end();
}

/** Returns false: a pipe waits for a 'drain' that never comes, and stops pulling. A write callback gets the error. */
function refuseWrite(...args: unknown[]): boolean {
  const callback = args.find((a) => typeof a === 'function') as ((error: Error) => void) | undefined;
  if (callback) process.nextTick(callback, Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' }));
  return false;
}

function ignore(): void {
  /* see endResponse */
}

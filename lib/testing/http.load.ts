import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { countOption, type LoadTarget, type ShutdownLoad, type StopFlag } from './load.js';
import { errorOutcome, type Outcome, type Tally } from './tally.js';

export interface HttpLoadOptions {
  /** The request path, or one per connection (to spread their timing), e.g. `/orders?ms=200`. */
  path: string | ((connection: number) => string);
  /** Keep-alive connections (HTTP/2: sessions), each looping one request after the other. @default 8 */
  connections?: number;
  /** `https` and `h2` take the server's certificate in `ca`. @default 'http' */
  protocol?: 'http' | 'https' | 'h2';
  /** HTTP/2: concurrent streams per session. @default 1 */
  streamsPerConnection?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** A 2xx answer counts as `ok` only with this body. */
  expectBody?: string;
  /** PEM of a self-signed certificate (https, h2). */
  ca?: string | Buffer;
  /** A request unanswered this long is abandoned and counted as a timeout. @default 15000 */
  requestTimeoutMs?: number;
  /** The port: a number, or the name of a port variable of the child app. @default the app's first port */
  port?: number | string;
  name?: string;
}

/** HTTP/1.1 keep-alive requests, HTTP/1.1 over TLS, or HTTP/2 streams. */
export function httpLoad(options: HttpLoadOptions): ShutdownLoad {
  if (typeof options?.path !== 'string' && typeof options?.path !== 'function') {
    throw new TypeError('httpLoad(): option "path" must be a string or a function of the connection number');
  }
  const protocol = options.protocol ?? 'http';
  if (!['http', 'https', 'h2'].includes(protocol)) throw new TypeError(`httpLoad(): option "protocol" must be 'http', 'https' or 'h2', got ${String(protocol)}`);
  const connections = countOption('httpLoad', 'connections', options.connections ?? 8);
  const streams = countOption('httpLoad', 'streamsPerConnection', options.streamsPerConnection ?? 1);
  return {
    name: options.name ?? protocol,
    port: options.port,
    async run(target, tally, stop) {
      const loops: Promise<void>[] = [];
      for (let i = 0; i < connections; i++) {
        const path = typeof options.path === 'function' ? options.path(i) : options.path;
        loops.push(protocol === 'h2' ? h2Session(options, target, path, streams, tally, stop) : h1Loop(options, protocol, target, path, tally, stop));
      }
      await Promise.all(loops);
    },
  };
}

function classify(options: HttpLoadOptions, status: number, body: string): Outcome {
  if (status >= 200 && status < 300) return options.expectBody === undefined || body === options.expectBody ? 'ok' : 'bad-body';
  if (status === 503) return '503';
  if (status >= 500) return '5xx';
  return 'other-status';
}

async function h1Loop(options: HttpLoadOptions, protocol: 'http' | 'https', target: LoadTarget, path: string, tally: Tally, stop: StopFlag): Promise<void> {
  const mod = protocol === 'https' ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: 1, ...(protocol === 'https' ? { ca: options.ca } : {}) });
  try {
    while (!stop.stopped) {
      const end = tally.begin();
      const outcome = await new Promise<Outcome>((resolve) => {
        const done = (o: Outcome, detail?: string) => resolve(end(o, detail));
        const req = mod.request({ host: target.host, port: target.port, path, method: options.method ?? 'GET', headers: options.headers, agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => done(classify(options, res.statusCode ?? 0, body)));
          res.on('error', (e) => done(...errorOutcome(e)));
          res.on('aborted', () => done('reset', 'aborted'));
        });
        req.on('error', (e) => done(...errorOutcome(e)));
        req.setTimeout(options.requestTimeoutMs ?? 15_000, () => req.destroy(Object.assign(new Error('request timeout'), { code: 'TIMEOUT' })));
        req.end(options.body);
      });
      if (outcome === 'refused') break;
    }
  } finally {
    agent.destroy();
  }
}

async function h2Session(options: HttpLoadOptions, target: LoadTarget, path: string, streams: number, tally: Tally, stop: StopFlag): Promise<void> {
  let session: Promise<http2.ClientHttp2Session | undefined> | undefined;
  const connect = () =>
    new Promise<http2.ClientHttp2Session | undefined>((resolve) => {
      const s = http2.connect(`https://${target.host}:${target.port}`, { ca: options.ca });
      s.on('error', () => resolve(undefined)); // ECONNREFUSED once the listener is gone
      s.once('connect', () => resolve(s));
    });
  // One session shared by the streams: only the first loop to find it gone opens the next
  // (each loop awaiting an unset session would otherwise open its own, and leave it open).
  const current = async () => {
    if (!session) session = connect();
    const mine = session;
    const s = await mine;
    if (s && !s.closed && !s.destroyed) return s;
    if (session === mine) session = connect();
    return session;
  };
  let refusedInARow = 0;
  const loop = async () => {
    while (!stop.stopped) {
      const s = await current();
      if (!s) {
        tally.begin()('refused', 'ECONNREFUSED');
        break;
      }
      const end = tally.begin();
      const outcome = await new Promise<Outcome>((resolve) => {
        const done = (o: Outcome, detail?: string) => resolve(end(o, detail));
        let stream: http2.ClientHttp2Stream;
        try {
          stream = s.request({ ':path': path, ':method': options.method ?? 'GET', ...options.headers });
        } catch (e) {
          return done(...errorOutcome(e)); // GOAWAY received: the request was never sent
        }
        let status = 0;
        let body = '';
        stream.setEncoding('utf8');
        stream.on('response', (headers) => (status = Number(headers[':status'])));
        stream.on('data', (c: string) => (body += c));
        stream.on('end', () => done(classify(options, status, body)));
        stream.on('error', (e) => done(...errorOutcome(e)));
        stream.on('close', () => {
          if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) done('refused', 'REFUSED_STREAM');
          else if (stream.rstCode) done('reset', `RST_STREAM ${stream.rstCode}`);
        });
        stream.setTimeout(options.requestTimeoutMs ?? 15_000, () => {
          done('timeout', 'TIMEOUT');
          stream.close(http2.constants.NGHTTP2_CANCEL);
        });
        stream.end(options.body);
      });
      // A refused stream is safe to retry on a new session (the next one is refused if the listener is gone).
      refusedInARow = outcome === 'refused' ? refusedInARow + 1 : 0;
      if (refusedInARow >= 100) break;
    }
  };
  await Promise.all(Array.from({ length: streams }, loop));
  (await session)?.close();
}

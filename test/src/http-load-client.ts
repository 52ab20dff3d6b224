import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';

/**
 * A bounded load: `connections` keep-alive connections (HTTP/2: sessions with
 * `streamsPerConnection` concurrent streams each) looping one request. A loop stops by
 * itself once the server refuses it (the listener is gone, or HTTP/2 refused the stream
 * before processing it), or at `stopAfterMs`. Shared by the tests and the benchmark.
 */
export interface LoadOptions {
  port: number;
  protocol?: 'http' | 'https' | 'h2';
  connections: number;
  streamsPerConnection?: number;
  /** The request path, or one per connection (to spread their timing). */
  path: string | ((connection: number) => string);
  /** The body a 2xx answer must carry to count as complete. */
  expectBody?: string;
  /** PEM of the server's self-signed certificate (https, h2). */
  ca?: string | Buffer;
  /** Loop i starts `i / connections × startSpreadMs` late, so that requests end at different moments. */
  startSpreadMs?: number;
  /** No loop starts a request after this many milliseconds. */
  stopAfterMs: number;
  /** A request unanswered this long is abandoned and counted as a timeout. */
  requestTimeoutMs?: number;
}

/** Never reached the server's handlers: connection refused, or refused by HTTP/2 before processing. */
type Outcome = 'ok' | 'refused' | 'reset' | '5xx' | '503' | 'other-status' | 'bad-body' | 'timeout' | 'error';

interface Attempt {
  startedAt: number;
  endedAt?: number;
  outcome?: Outcome;
  detail?: string;
}

export interface LoadResult {
  sent: number;
  ok: number;
  refused: number;
  resets: number;
  /** 5xx answers other than 503. */
  status5xx: number;
  status503: number;
  otherStatus: number;
  badBodies: number;
  timeouts: number;
  /** Anything else, by error code. */
  otherErrors: string[];
  /** Requests sent and not yet answered when `markSignal()` was called. */
  inFlightAtSignal: number;
  /** Of those, the ones that did not get a complete 2xx answer. */
  lostAtSignal: number;
  /** From `markSignal()` to the answer of the last request in flight then (the lower bound of a lossless exit). */
  slowestInFlightMs: number;
  /** How long the newest request in flight at `markSignal()` had been running then. */
  newestInFlightAgeMs: number;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'ERR_HTTP2_STREAM_CANCEL', 'ERR_HTTP2_SESSION_ERROR']);

export class Load {
  private readonly attempts: Attempt[] = [];
  private readonly outstanding = new Set<Attempt>();
  private atSignal?: { at: number; attempts: Attempt[] };
  private readonly startedAt = performance.now();

  constructor(private readonly options: LoadOptions) {}

  /** Runs every loop to its end. */
  async run(): Promise<LoadResult> {
    const { connections, protocol = 'http', streamsPerConnection = 1 } = this.options;
    const loops: Promise<void>[] = [];
    for (let i = 0; i < connections; i++) {
      const path = typeof this.options.path === 'function' ? this.options.path(i) : this.options.path;
      const delayMs = ((this.options.startSpreadMs ?? 0) * i) / connections;
      if (protocol === 'h2') loops.push(this.h2Connection(path, streamsPerConnection));
      else loops.push(this.h1Loop(path, protocol, delayMs));
    }
    await Promise.all(loops);
    return this.result();
  }

  /** Records which requests are in flight now (call it right before signalling the server). */
  markSignal(): void {
    this.atSignal = { at: performance.now(), attempts: [...this.outstanding] };
  }

  private get expired(): boolean {
    return performance.now() - this.startedAt > this.options.stopAfterMs;
  }

  private async h1Loop(path: string, protocol: 'http' | 'https', delayMs: number): Promise<void> {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const mod = protocol === 'https' ? https : http;
    const agent = new mod.Agent({ keepAlive: true, maxSockets: 1, ...(protocol === 'https' ? { ca: this.options.ca } : {}) });
    try {
      while (!this.expired) {
        const outcome = await this.attempt((done) => {
          const req = mod.request({ host: '127.0.0.1', port: this.options.port, path, agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => done(this.classify(res.statusCode ?? 0, body)));
            res.on('error', (e) => done(...errorOutcome(e)));
          });
          req.on('error', (e) => done(...errorOutcome(e)));
          req.setTimeout(this.options.requestTimeoutMs ?? 15_000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
          req.end();
        });
        if (outcome === 'refused') break;
      }
    } finally {
      agent.destroy();
    }
  }

  private async h2Connection(path: string, streams: number): Promise<void> {
    let session: Promise<http2.ClientHttp2Session | undefined> | undefined;
    const connect = () =>
      new Promise<http2.ClientHttp2Session | undefined>((resolve) => {
        const s = http2.connect(`https://127.0.0.1:${this.options.port}`, { ca: this.options.ca });
        s.on('error', () => resolve(undefined)); // ECONNREFUSED once the listener is gone
        s.once('connect', () => resolve(s));
      });
    // One session shared by the streams: only the first loop to find it gone opens the next.
    const current = async () => {
      if (!session) session = connect();
      const mine = session;
      const s = await mine;
      if (s && !s.closed && !s.destroyed) return s;
      if (session === mine) session = connect();
      return session;
    };
    const loop = async () => {
      while (!this.expired) {
        const s = await current();
        if (!s) {
          this.record({ startedAt: performance.now() }, 'refused', 'ECONNREFUSED');
          break;
        }
        const outcome = await this.attempt((done) => {
          let stream: http2.ClientHttp2Stream;
          try {
            stream = s.request({ ':path': path });
          } catch (e) {
            // GOAWAY received: the client may not open a stream, so the request was never sent.
            return done(...errorOutcome(e as Error));
          }
          let status = 0;
          let body = '';
          stream.setEncoding('utf8');
          stream.on('response', (headers) => (status = Number(headers[':status'])));
          stream.on('data', (c: string) => (body += c));
          stream.on('end', () => done(this.classify(status, body)));
          stream.on('error', (e) => done(...errorOutcome(e)));
          stream.on('close', () => {
            if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) done('refused', 'REFUSED_STREAM');
            else if (stream.rstCode) done('reset', `RST_STREAM ${stream.rstCode}`);
          });
          stream.setTimeout(this.options.requestTimeoutMs ?? 15_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
          stream.end();
        });
        // A refused stream is safe to retry on a new session; a refused connection ends the loop.
        if (outcome === 'refused' && this.expired) break;
      }
    };
    await Promise.all(Array.from({ length: streams }, loop));
    (await session)?.close();
  }

  private attempt(send: (done: (outcome: Outcome, detail?: string) => void) => void): Promise<Outcome> {
    const attempt: Attempt = { startedAt: performance.now() };
    this.outstanding.add(attempt);
    return new Promise((resolve) => {
      send((outcome, detail) => {
        if (attempt.outcome) return;
        this.record(attempt, outcome, detail);
        resolve(outcome);
      });
    });
  }

  private record(attempt: Attempt, outcome: Outcome, detail?: string): void {
    attempt.endedAt = performance.now();
    attempt.outcome = outcome;
    attempt.detail = detail;
    this.outstanding.delete(attempt);
    this.attempts.push(attempt);
  }

  private classify(status: number, body: string): Outcome {
    if (status >= 200 && status < 300) return this.options.expectBody === undefined || body === this.options.expectBody ? 'ok' : 'bad-body';
    if (status === 503) return '503';
    if (status >= 500) return '5xx';
    return 'other-status';
  }

  private result(): LoadResult {
    const count = (o: Outcome) => this.attempts.filter((a) => a.outcome === o).length;
    const atSignal = this.atSignal?.attempts ?? [];
    const signalAt = this.atSignal?.at ?? 0;
    return {
      sent: this.attempts.filter((a) => a.outcome !== 'refused').length,
      ok: count('ok'),
      refused: count('refused'),
      resets: count('reset'),
      status5xx: count('5xx'),
      status503: count('503'),
      otherStatus: count('other-status'),
      badBodies: count('bad-body'),
      timeouts: count('timeout'),
      otherErrors: this.attempts.filter((a) => a.outcome === 'error').map((a) => a.detail ?? 'unknown'),
      inFlightAtSignal: atSignal.length,
      lostAtSignal: atSignal.filter((a) => a.outcome !== 'ok').length,
      slowestInFlightMs: atSignal.reduce((max, a) => Math.max(max, (a.endedAt ?? Infinity) - signalAt), 0),
      newestInFlightAgeMs: atSignal.reduce((min, a) => Math.min(min, signalAt - a.startedAt), Infinity),
    };
  }
}

function errorOutcome(error: Error & { code?: string }): [Outcome, string] {
  const code = error.code ?? error.message;
  if (code === 'ECONNREFUSED' || code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION') return ['refused', code];
  if (code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(error.message)) return ['refused', code];
  if (code === 'CLIENT_TIMEOUT') return ['timeout', code];
  if (RESET_CODES.has(code) || /socket hang up|aborted/.test(error.message)) return ['reset', code];
  return ['error', `${code}: ${error.message}`];
}

import net from 'node:net';

/**
 * Many HTTP/1.1 keep-alive clients, cheap enough for 10,000 in one process: one raw
 * socket each (no `http.Agent`), one request at a time, `thinkMs` between an answer and
 * the next request. A connection the server closes is not reopened (its client would go
 * to another instance), nor is one refused. Shared by the tests and the benchmark.
 *
 * Counted exactly: a request is `ok` when a complete 200 arrives; `reset` when the
 * socket errs or closes with it unanswered (the server's FIN or RST crossed it);
 * `lostAtSignal` counts the requests unanswered at `markSignal()` that did not end ok.
 */
export interface RawClientsOptions {
  port: number;
  connections: number;
  /** The request path. */
  path: string;
  /** Pause between an answer and the next request, picked in [min, max] per request. */
  thinkMs: [number, number];
  /** The first request of each connection comes within this long of its opening (default `thinkMs[1]`). */
  firstRequestWithinMs?: number;
  /** Connections open over this long, evenly. */
  rampMs?: number;
  /** A connection starts no request after this many ms from `start()`. */
  stopAfterMs: number;
  /** Seeds the think times (deterministic for one seed; default 1). */
  seed?: number;
}

export interface RawClientsResult {
  opened: number;
  refused: number;
  sent: number;
  ok: number;
  /** Answers that were not a 200. */
  otherStatus: number;
  resets: number;
  inFlightAtSignal: number;
  lostAtSignal: number;
  /** From `markSignal()` to the last answer received (ms). */
  lastAnswerAfterSignalMs: number;
  /** From `markSignal()` to the answer of the last request in flight then (ms). */
  slowestInFlightMs: number;
}

interface Conn {
  socket: net.Socket;
  buffer: string;
  /** The request unanswered on it, by the time it was sent (performance.now()), or undefined. */
  sentAt?: number;
  markedInFlight: boolean;
  opened: boolean;
  timer?: NodeJS.Timeout;
}

export class RawClients {
  private readonly conns: Conn[] = [];
  private readonly r: RawClientsResult = {
    opened: 0,
    refused: 0,
    sent: 0,
    ok: 0,
    otherStatus: 0,
    resets: 0,
    inFlightAtSignal: 0,
    lostAtSignal: 0,
    lastAnswerAfterSignalMs: 0,
    slowestInFlightMs: 0,
  };
  private signalAt?: number;
  private startedAt = 0;
  private open = 0;
  private done?: () => void;
  private seed: number;
  private readonly request: string;

  constructor(private readonly options: RawClientsOptions) {
    this.request = `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    this.seed = options.seed ?? 1;
  }

  /** Opens every connection (over `rampMs`); resolves once all of them are open. */
  async start(): Promise<void> {
    this.startedAt = performance.now();
    const { connections, rampMs = 0 } = this.options;
    const opened: Promise<void>[] = [];
    for (let i = 0; i < connections; i++) {
      if (rampMs > 0 && i > 0 && i % 100 === 0) await new Promise((r) => setTimeout(r, (rampMs * 100) / connections));
      opened.push(this.connect());
    }
    await Promise.all(opened);
  }

  /** Connections still open. */
  get openConnections(): number {
    return this.open;
  }

  /** Records which requests are unanswered now (call it right before signalling the server). */
  markSignal(): void {
    this.signalAt = performance.now();
    for (const c of this.conns) {
      if (c.sentAt !== undefined) {
        c.markedInFlight = true;
        this.r.inFlightAtSignal++;
      }
    }
  }

  /** Resolves once every connection is closed (by the server, or at `stopAfterMs` plus an answer). */
  finished(): Promise<RawClientsResult> {
    return new Promise((resolve) => {
      const end = () => resolve(this.r);
      if (this.open === 0) return end();
      this.done = end;
    });
  }

  /** Closes what is left (clean-up). */
  destroy(): void {
    for (const c of this.conns) {
      clearTimeout(c.timer);
      c.socket.destroy();
    }
  }

  private random(): number {
    // Deterministic spread of think times (a linear congruential generator).
    this.seed = (this.seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return this.seed / 2 ** 31;
  }

  private connect(): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.options.port });
      const conn: Conn = { socket, buffer: '', markedInFlight: false, opened: false };
      socket.setEncoding('latin1');
      socket.once('connect', () => {
        this.r.opened++;
        this.open++;
        conn.opened = true;
        this.conns.push(conn);
        resolve();
        // The first request soon, at a spread moment, so that the connections interleave.
        this.schedule(conn, this.random() * (this.options.firstRequestWithinMs ?? this.options.thinkMs[1]));
      });
      socket.on('data', (chunk: string) => this.onData(conn, chunk));
      socket.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') this.r.refused++;
      });
      socket.on('end', () => socket.end());
      socket.once('close', () => {
        clearTimeout(conn.timer);
        if (!conn.opened) return resolve(); // refused: never opened
        if (conn.sentAt !== undefined) this.answered(conn, 'reset');
        if (--this.open === 0) this.done?.();
      });
    });
  }

  private schedule(conn: Conn, ms: number): void {
    conn.timer = setTimeout(() => this.send(conn), ms);
  }

  private send(conn: Conn): void {
    if (conn.socket.destroyed || conn.socket.writableEnded) return;
    if (performance.now() - this.startedAt > this.options.stopAfterMs) {
      conn.socket.end();
      return;
    }
    conn.sentAt = performance.now();
    this.r.sent++;
    conn.socket.write(this.request);
  }

  private onData(conn: Conn, chunk: string): void {
    conn.buffer += chunk;
    for (;;) {
      const head = conn.buffer.indexOf('\r\n\r\n');
      if (head < 0) return;
      const headers = conn.buffer.slice(0, head);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
      if (conn.buffer.length < head + 4 + length) return;
      conn.buffer = conn.buffer.slice(head + 4 + length);
      const status = Number(headers.slice(9, 12));
      const closing = /\r\nconnection:\s*close/i.test(headers);
      this.answered(conn, status === 200 ? 'ok' : 'status');
      if (closing) conn.socket.end();
      else this.schedule(conn, this.options.thinkMs[0] + this.random() * (this.options.thinkMs[1] - this.options.thinkMs[0]));
    }
  }

  private answered(conn: Conn, outcome: 'ok' | 'status' | 'reset'): void {
    const now = performance.now();
    const ok = outcome === 'ok';
    if (ok) this.r.ok++;
    else if (outcome === 'reset') this.r.resets++;
    else this.r.otherStatus++;
    if (this.signalAt !== undefined) {
      if (ok) this.r.lastAnswerAfterSignalMs = Math.max(this.r.lastAnswerAfterSignalMs, now - this.signalAt);
      if (conn.markedInFlight) {
        if (!ok) this.r.lostAtSignal++;
        else this.r.slowestInFlightMs = Math.max(this.r.slowestInFlightMs, now - this.signalAt);
      }
    }
    conn.sentAt = undefined;
    conn.markedInFlight = false;
  }
}

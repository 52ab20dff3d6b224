import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { Child, fixture } from './helpers/child.js';
import { tlsFiles, type TlsFiles } from './src/http-tls.js';
import { httpLoad, runShutdown, workLoad } from '../lib/testing/index.js';

const CONNECTIONS = 16;
const HELD = 4;

let tls: TlsFiles;
let ca: Buffer;
beforeAll(() => {
  tls = tlsFiles();
  ca = readFileSync(tls.cert);
});

const children: Child[] = [];
afterEach(() => children.splice(0).forEach((c) => c.stop()));

type Proto = 'http' | 'https' | 'h2';

/** One request held by the server until quitting begins: in flight at the signal by construction. */
function held(proto: Proto, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const done = (status: number, body: string) => resolve({ status, body });
    if (proto === 'h2') {
      const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
      session.on('error', reject);
      const stream = session.request({ ':path': '/held' });
      let status = 0;
      let body = '';
      stream.setEncoding('utf8');
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => {
        session.close();
        done(status, body);
      });
      stream.on('error', reject);
      stream.end();
      return;
    }
    const mod = proto === 'https' ? https : http;
    const req = mod.get({ host: '127.0.0.1', port, path: '/held', agent: false, ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done(res.statusCode ?? 0, body));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const cases: Array<[string, Proto]> = [
  ['express', 'http'],
  ['fastify', 'http'],
  ['express', 'https'],
  ['fastify', 'https'],
  ['fastify', 'h2'],
];

describe.each(cases)('SIGTERM under keep-alive load: %s over %s', (platform, proto) => {
  it('answers every request that reached the server with a complete 2xx, resets nothing, and exits by itself', async () => {
    const result = await runShutdown({
      app: {
        main: fixture('http-load.app'),
        env: { PLATFORM: platform, PROTO: proto, TLS_KEY: tls.key, TLS_CERT: tls.cert, CONNS: String(CONNECTIONS), LOADED: String(CONNECTIONS * 4) },
      },
      load: [
        httpLoad({
          name: 'load',
          protocol: proto,
          // HTTP/2: fewer sessions, several streams each.
          connections: proto === 'h2' ? CONNECTIONS / 4 : CONNECTIONS,
          streamsPerConnection: 4,
          // Different durations, so that at the signal some connections are between two requests.
          path: (i) => `/slow?ms=${200 + (i % 8) * 25}`,
          expectBody: 'done',
          ca,
        }),
        // Requests held by the server until quitting begins: in flight at the signal by construction.
        workLoad({
          name: 'held',
          concurrency: HELD,
          unit: async (_i, { port }) => {
            const reply = await held(proto, port);
            if (reply.status !== 200 || reply.body !== 'done') throw new Error(`held: ${reply.status} ${reply.body}`);
          },
        }),
      ],
      signalWhen: ({ output }) => output.includes(`ev:held ${HELD}`) && output.includes('ev:loaded'),
      exitTimeoutMs: 15_000,
    });

    const [started, completed, failed] = result.output.find((l) => l.startsWith('ev:served '))!.split(' ').slice(1).map(Number);
    expect(result.loads.held).toMatchObject({ inFlightAtSignal: HELD, lost: 0 });
    expect(result).toMatchObject({ lost: 0, resets: 0, status5xx: 0, status503: 0, badAnswers: 0, timeouts: 0, errors: [] });
    expect(result.loads.load.inFlightAtSignal).toBeGreaterThan(0);
    // Every request a handler took was answered completely, and the client got each one.
    expect(failed).toBe(0);
    expect(completed).toBe(started);
    expect(result.ok).toBe(completed);
    expect(result.report).toMatchObject({ ok: true, pending: [] });
    expect(result.exit).toEqual({ code: null, signal: 'SIGTERM', killed: false });
    expect(result.exitedInTime).toBe(true);
  });
});

/** A GET on the given agent, with whether it reused a kept-alive socket. */
function getOn(agent: http.Agent, port: number, path: string) {
  return new Promise<{ status: number; body: string; connection?: string; reused: boolean; socket: import('node:net').Socket }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection, reused: req.reusedSocket, socket: req.socket! }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe.each(['express', 'fastify'])('kept-alive sockets during the drain (%s)', (platform) => {
  it('serves a request that arrives on an idle kept-alive socket after intake stopped, then closes that socket; closes the idle one cleanly', async () => {
    // Idleness counts from a socket's last byte: a grace well above what the steps below
    // take from the first request on, even on a slow machine.
    const app = new Child(fixture('http-load.app'), { PLATFORM: platform, QUIT_OPTIONS: JSON.stringify({ http: { idleGraceMs: 3_000 } }) });
    children.push(app);
    const port = await app.ready();
    const busy = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const idle = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await getOn(busy, port, '/slow?ms=1');
    const idleReply = await getOn(idle, port, '/slow?ms=1');
    const idleErrors: Error[] = [];
    idleReply.socket.on('error', (e) => idleErrors.push(e));
    const idleClosed = new Promise((resolve) => idleReply.socket.once('close', resolve));
    const holder = held('http', port);
    await app.waitFor('ev:held 1');
    app.kill('SIGTERM');
    await app.waitFor('ev:intake-stopped');
    // The socket idled through the signal and the end of intake; the next request on it is served.
    const during = await getOn(busy, port, '/slow?ms=50');
    const [holderReply, exit] = await Promise.all([holder, app.exited, idleClosed]);

    expect(first).toMatchObject({ status: 200, body: 'done', reused: false });
    expect(during).toMatchObject({ status: 200, body: 'done', reused: true, connection: 'close' });
    expect(holderReply).toEqual({ status: 200, body: 'done' });
    expect(idleErrors).toEqual([]);
    expect(await app.waitFor(/^ev:served /)).toBe('ev:served 4 4 0');
    expect(app.events()).toContain('report {"ok":true,"pending":[]}');
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    busy.destroy();
    idle.destroy();
  });
});

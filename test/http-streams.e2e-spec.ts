import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { WebSocket } from 'ws';
import { Child, fixture } from './helpers/child.js';
import { freePort } from './helpers/ports.js';
import { tlsFiles } from './src/http-tls.js';

const children: Child[] = [];
afterEach(() => children.splice(0).forEach((c) => c.stop()));

interface StreamEnd {
  name: string;
  /** 'end' when the body ended normally, else the error. */
  how: string;
  body: string;
}

/** Opens a streamed GET; `firstData` resolves at its first chunk, `ended` when it is over. */
function openStream(name: string, port: number, path: string) {
  let body = '';
  let firstData!: () => void;
  const first = new Promise<void>((resolve) => (firstData = resolve));
  const ended = new Promise<StreamEnd>((resolve) => {
    const finish = (how: string) => {
      resolve({ name, how, body });
    };
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        firstData();
      });
      res.on('end', () => finish('end'));
      res.on('error', (e) => finish(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    req.on('error', (e) => finish(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
  });
  return { first, ended };
}

/** Opens a WebSocket; with `watch`, asks the gateway to watch the quit signal. `ready`: open (and watched). */
function openSocket(port: number, watch: boolean) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const messages: string[] = [];
  const errors: string[] = [];
  ws.on('error', (e) => errors.push(e.message));
  const closed = new Promise<{ code: number; reason: string; messages: string[]; errors: string[] }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString(), messages, errors });
    }),
  );
  const answered = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      messages.push(data.toString());
      resolve();
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      if (!watch) return resolve();
      ws.send(JSON.stringify({ event: 'watch' }));
      void answered.then(resolve);
    });
  });
  return { ready, closed };
}

/** SSE events are "data: …" blocks ended by a blank line: the body must end on a whole one. */
function sseEvents(body: string): string[] {
  expect(body.endsWith('\n\n')).toBe(true);
  return body
    .split('\n\n')
    .filter(Boolean)
    .map((block) => block.split('\n').find((l) => l.startsWith('data: '))!);
}

/** The download is "chunk 0;chunk 1;…": whole chunks, in order, none missing. */
function chunks(body: string): number {
  const parts = body.split(';');
  expect(parts.pop()).toBe('');
  parts.forEach((part, i) => expect(part).toBe(`chunk ${i}`));
  return parts.length;
}

/**
 * Starts the fixture, opens an SSE stream, a download and a WebSocket (all watching
 * quit.signal, or none, and then also a request never answered), sends SIGTERM once each has data, and checks that all three
 * ended cleanly: SSE on a whole event, the download on a whole chunk, the WebSocket
 * with 1001. Resolves with the WebSocket's messages and the app.
 */
async function shutDownWithStreams(env: Record<string, string>, watch: boolean) {
  const app = new Child(fixture('http-streams.app'), env);
  children.push(app);
  const port = await app.ready();
  const query = watch ? '?watch=1' : '';
  const sse = openStream('sse', port, `/sse${query}`);
  const download = openStream('download', port, `/download${query}`);
  const ws = openSocket(port, watch);
  // Without watching, also a request that its handler never answers.
  const hang = watch ? undefined : unanswered(port);
  await Promise.all([sse.first, download.first, ws.ready, watch || app.waitFor('ev:hang.open')]);

  app.kill('SIGTERM');
  const [sseEnd, downloadEnd, wsEnd, exit, hangReply] = await Promise.all([sse.ended, download.ended, ws.closed, app.exited, hang]);

  expect(sseEnd.how).toBe('end');
  expect(sseEvents(sseEnd.body).length).toBeGreaterThan(0);
  expect(downloadEnd.how).toBe('end');
  expect(chunks(downloadEnd.body)).toBeGreaterThan(0);
  expect(wsEnd).toMatchObject({ code: 1001, reason: 'going away', errors: [] });
  return { app, exit, messages: wsEnd.messages, hangReply };
}

function unanswered(port: number) {
  return new Promise<{ status: number; connection?: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hang', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
  });
}

describe.each(['express', 'fastify'])('long-lived responses at SIGTERM (%s)', (platform) => {
  it('handlers that watch quit.signal end their SSE stream, download and WebSocket (1001) themselves; the shutdown is clean', async () => {
    const { app, exit, messages } = await shutDownWithStreams(
      { PLATFORM: platform, QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 5_000 } }) },
      true,
    );
    expect(messages).toEqual(['{"event":"watching","data":true}', 'bye']);
    expect(app.events()).toContain('report {"ok":true,"pending":[]}');
    expect(app.events().filter((e) => e.startsWith('drained'))).toEqual(expect.arrayContaining([expect.stringMatching(/^drained ws:\d+$/), expect.stringMatching(/^drained http:\d+$/)]));
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('streams that ignore quit.signal are ended cleanly: SSE at the start of the drain, the download at the transports phase timeout, each on a whole event/chunk; the idle WebSocket closes with 1001 at once', async () => {
    const { app, exit, messages, hangReply } = await shutDownWithStreams(
      {
        PLATFORM: platform,
        // The gateway is found through its @WebSocketServer() property on Fastify, through the adapter on Express.
        GATEWAY_PROP: platform === 'fastify' ? '1' : '0',
        QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 500 } }),
      },
      false,
    );
    expect(messages).toEqual([]);
    // A request its handler never answers cannot end cleanly: it gets a 503, not a reset.
    expect(hangReply).toEqual({ status: 503, connection: 'close' });
    // Cut short by the phase timeout: named in the report, and the exit code says so.
    const report = await app.report();
    expect(report.ok).toBe(false);
    // The SSE stream ended at the start of the drain: only the download and /hang were left.
    // The WebSocket has no handler in flight: it gets its 1001 as the drain starts, not at the timeout.
    expect(report.pending).toEqual([expect.stringMatching(/^transports: http:\d+: 2 request\(s\) in flight, 2 connection\(s\) open$/)]);
    expect(app.events().filter((e) => e.startsWith('drained'))).toEqual([expect.stringMatching(/^drained ws:\d+$/), expect.stringMatching(/^drained http:\d+ forced$/)]);
    expect(exit).toMatchObject({ code: 1, signal: null });
  });
});

describe('a gateway on a port of its own', () => {
  it('is found from its creation: a socket open at SIGTERM and one opened during the drain both get 1001 at once', async () => {
    const wsPort = await freePort();
    const app = new Child(fixture('http-streams.app'), { WS_PORT: String(wsPort), QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 1_500 } }) });
    children.push(app);
    const port = await app.ready();
    const early = openSocket(wsPort, false);
    await early.ready;
    // Keeps the drain going until the phase timeout.
    const hang = unanswered(port);
    await app.waitFor('ev:hang.open');

    app.kill('SIGTERM');
    await app.waitFor(`ev:intake-stopped ws:${wsPort}`);
    // The gateway's own listener is still open: a socket opened now is closed at once, not kept.
    const late = openSocket(wsPort, false);
    const lateEnd = await late.closed;
    const lateBeforeTimeout = !app.events().some((e) => e.startsWith('drained http'));
    const [earlyEnd, hangReply, exit] = await Promise.all([early.closed, hang, app.exited]);

    expect(lateEnd).toEqual({ code: 1001, reason: 'going away', messages: [], errors: [] });
    expect(lateBeforeTimeout).toBe(true);
    expect(earlyEnd).toEqual({ code: 1001, reason: 'going away', messages: [], errors: [] });
    expect(hangReply).toEqual({ status: 503, connection: 'close' });
    expect(app.events().filter((e) => e.startsWith('drained'))).toEqual([`drained ws:${wsPort}`, expect.stringMatching(/^drained http:\d+ forced$/)]);
    expect(exit).toMatchObject({ code: 1, signal: null });
  });
});

describe('long-lived HTTP/2 streams (Fastify, TLS)', () => {
  it('are ended cleanly, SSE at the start of the drain and the download at the transports phase timeout, on a whole event/chunk, with no RST; an unanswered stream gets 503', async () => {
    const tls = tlsFiles();
    const app = new Child(fixture('http-streams.app'), {
      PLATFORM: 'fastify',
      H2: '1',
      TLS_KEY: tls.key,
      TLS_CERT: tls.cert,
      QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 500 } }),
    });
    children.push(app);
    const port = await app.ready();
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: readFileSync(tls.cert) });
    const sessionErrors: string[] = [];
    session.on('error', (e) => sessionErrors.push(e.message));
    const open = (path: string) => {
      let firstData!: () => void;
      const first = new Promise<void>((resolve) => (firstData = resolve));
      const ended = new Promise<{ status: number; how: string; body: string }>((resolve) => {
        const stream = session.request({ ':path': path });
        let status = 0;
        let body = '';
        stream.setEncoding('utf8');
        stream.on('response', (h) => {
          status = Number(h[':status']);
          if (path === '/hang') firstData();
        });
        stream.on('data', (c: string) => {
          body += c;
          firstData();
        });
        stream.on('end', () => resolve({ status, how: stream.rstCode ? `rst ${stream.rstCode}` : 'end', body }));
        stream.on('error', (e) => resolve({ status, how: `error ${e.message}`, body }));
        stream.end();
      });
      return { first, ended };
    };
    const sse = open('/sse');
    const download = open('/download');
    const hang = open('/hang');
    await Promise.all([sse.first, download.first, app.waitFor('ev:hang.open')]);

    app.kill('SIGTERM');
    const [sseEnd, downloadEnd, hangEnd, exit] = await Promise.all([sse.ended, download.ended, hang.ended, app.exited]);
    session.destroy();

    expect(sseEnd).toMatchObject({ status: 200, how: 'end' });
    expect(sseEvents(sseEnd.body).length).toBeGreaterThan(0);
    expect(downloadEnd).toMatchObject({ status: 200, how: 'end' });
    expect(chunks(downloadEnd.body)).toBeGreaterThan(0);
    expect(hangEnd).toMatchObject({ status: 503, how: 'end' });
    expect(sessionErrors).toEqual([]);
    const report = await app.report();
    expect(report.pending).toEqual([
      expect.stringMatching(/^transports: http:\d+: 0 request\(s\) in flight, 0 connection\(s\) open, 1 HTTP\/2 session\(s\) open with 2 stream\(s\)$/),
    ]);
    expect(exit).toMatchObject({ code: 1, signal: null });
  });
});

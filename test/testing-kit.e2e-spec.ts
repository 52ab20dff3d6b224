import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, Query, type DynamicModule, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { QuitModule, QuitService } from '../lib/index.js';
import { httpLoad, runShutdown, startLoad, workLoad, wsLoad } from '../lib/testing/index.js';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { fixture } from './helpers/child.js';
import { sleep } from './src/log.js';
import { tlsFiles } from './src/http-tls.js';

/** Requests inside the handler now: the signal goes once they all are (not merely sent). */
let inHandler = 0;

/** A pool closed in `onModuleDestroy`: a request still using it then fails with a 500. */
@Injectable()
class Pool implements OnModuleDestroy {
  open = true;
  async query(ms: number) {
    await sleep(ms);
    if (!this.open) throw new Error('pool closed while a query ran');
  }
  onModuleDestroy() {
    this.open = false;
  }
}

@Controller()
class SlowController {
  constructor(private readonly pool: Pool) {}
  @Get('slow')
  async slow(@Query('ms') ms = '200') {
    inHandler++;
    try {
      await this.pool.query(Number(ms));
    } finally {
      inHandler--;
    }
    return 'done';
  }
}

function appModule(withQuit: boolean): DynamicModule {
  @Module({})
  class AppModule {}
  return { module: AppModule, imports: withQuit ? [QuitModule.forRoot({ logger: false })] : [], controllers: [SlowController], providers: [Pool] };
}

/** GET over a fresh connection; rejects on anything but a complete 200 "done". */
const getDone = (port: number, path: string) =>
  new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 && body === 'done' ? resolve() : reject(Object.assign(new Error(`${res.statusCode} ${body}`), { code: 'HTTP' }))));
      })
      .on('error', reject);
  });

describe('nestjs-quit/testing, in-process (app.close())', () => {
  it('a broken app (no nestjs-quit: the pool closes under the requests in flight): the result shows every one of them lost, as 500s', async () => {
    const nest = await NestFactory.create(appModule(false), { logger: false });
    const result = await runShutdown({
      app: { nest },
      load: httpLoad({ connections: 8, path: '/slow?ms=300', expectBody: 'done' }),
      signalWhen: () => inHandler === 8,
      exitTimeoutMs: 1_500,
    });

    expect(result.inFlightAtSignal).toBe(8);
    expect(result.lost).toBe(8);
    expect(result.status5xx).toBeGreaterThanOrEqual(8);
    expect(result.report).toBeUndefined();
    expect(result.events).toEqual([]);
    // Nest's own server.close() waits for keep-alive clients that keep sending (and get 500s).
    expect(result.exitedInTime).toBe(false);
  });

  it('the same app with QuitModule: nothing lost, the report and the events of the shutdown', async () => {
    const nest = await NestFactory.create(appModule(true), { logger: false });
    const result = await runShutdown({ app: { nest }, load: httpLoad({ connections: 8, path: '/slow?ms=300', expectBody: 'done' }), signalWhen: () => inHandler === 8 });
    const port = result.ports.PORT;

    expect(result).toMatchObject({ inFlightAtSignal: 8, lost: 0, resets: 0, status5xx: 0, status503: 0, badAnswers: 0, timeouts: 0, errors: [] });
    expect(result.ok).toBeGreaterThanOrEqual(8);
    expect(result.report).toMatchObject({ trigger: 'close', ok: true, pending: [] });
    expect(result.events).toEqual([
      'quit.started close',
      'phase.started fire',
      'phase.ended fire',
      'phase.started readiness',
      'phase.ended readiness',
      'phase.started transports',
      `intake-stopped http:${port}`,
      `drained http:${port}`,
      'phase.ended transports',
      'phase.started workers',
      'phase.ended workers',
      'phase.started hooks',
      'phase.ended hooks',
      'quit.ended ok',
    ]);
  });

  it('workLoad: your own async function per unit of work, failures counted by kind', async () => {
    const nest = await NestFactory.create(appModule(false), { logger: false });
    const result = await runShutdown({ app: { nest }, load: workLoad({ concurrency: 4, unit: (_i, { port }) => getDone(port, '/slow?ms=300') }), signalWhen: () => inHandler === 4 });
    // New connections each time: the four in flight fail with 500 ("HTTP" errors); so may
    // a few sent before the listener closes (or be reset by Nest's close: resets are not
    // counted here); then they are refused.
    expect(result).toMatchObject({ inFlightAtSignal: 4, lost: 4, timeouts: 0 });
    expect(result.errors.length).toBeGreaterThanOrEqual(4);
    expect(new Set(result.errors)).toEqual(new Set(['HTTP: 500 {"statusCode":500,"message":"Internal server error"}']));
  });
});

describe('nestjs-quit/testing, wsLoad', () => {
  it('WebSocket messages to a ws server the app made itself: the ones in flight at close are answered; the server then says goodbye (1001)', async () => {
    const nest = await NestFactory.create(appModule(true), { logger: false });
    await nest.listen(0, '127.0.0.1');
    const quit = nest.get(QuitService);
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    quit.onQuit(wss);
    let answered = 0;
    wss.on('connection', (ws) =>
      ws.on('message', (data) =>
        setTimeout(() => {
          ws.send(String(data));
          answered++;
          // Once quitting, each socket ends after answering what it was sent.
          if (quit.isQuitting) ws.close(1001, 'going away');
        }, 50),
      ),
    );
    const port = (wss.address() as AddressInfo).port;
    const result = await runShutdown({ app: { nest }, load: wsLoad({ port, connections: 4, intervalMs: 20 }), inFlight: 4 });
    wss.close();

    expect(result).toMatchObject({ inFlightAtSignal: 4, lost: 0, resets: 0, refused: 0, timeouts: 0, errors: [] });
    expect(result.ok).toBe(answered);
    expect(result.events.filter((e) => e.startsWith('drained'))).toEqual(expect.arrayContaining([`drained ws:${port}`]));
    expect(result.report).toMatchObject({ ok: true, pending: [] });
  });
});

describe('nestjs-quit/testing, httpLoad over HTTP/2', () => {
  it('the streams of one connection share one session, and every session is closed once the load stops', async () => {
    const tls = tlsFiles();
    const server = http2.createSecureServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, (_req, res) => res.end('done'));
    const sessions: http2.ServerHttp2Session[] = [];
    server.on('session', (session) => sessions.push(session));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const load = startLoad(httpLoad({ protocol: 'h2', connections: 2, streamsPerConnection: 4, ca: readFileSync(tls.cert), path: '/' }), { port: (server.address() as AddressInfo).port });
      for (let i = 0; i < 500 && load.ok < 40; i++) await sleep(10);
      expect(load.ok).toBeGreaterThanOrEqual(40);
      const figures = await load.stop();
      await sleep(50); // the clients' GOAWAYs reach the server
      expect(sessions.length).toBe(2);
      expect(sessions.filter((s) => !s.closed && !s.destroyed)).toEqual([]);
      expect(figures).toMatchObject({ lost: 0, resets: 0, errors: [] });
    } finally {
      sessions.forEach((s) => s.destroy());
      server.close();
    }
  });
});

describe('nestjs-quit/testing, child process (a real SIGTERM)', () => {
  it('the app in a child process: figures, exit, SIGTERM→exit, report and events', async () => {
    const result = await runShutdown({
      app: { main: fixture('http-load.app'), env: { PLATFORM: 'express' } },
      load: httpLoad({ connections: 4, path: '/slow?ms=200', expectBody: 'done' }),
      inFlight: 4,
    });
    const port = result.ports.PORT;

    expect(result).toMatchObject({ inFlightAtSignal: 4, lost: 0, resets: 0, status5xx: 0, status503: 0, badAnswers: 0, timeouts: 0, errors: [] });
    expect(result.exit).toEqual({ code: null, signal: 'SIGTERM', killed: false });
    expect(result.exitMs).toBeGreaterThan(0);
    expect(result.exitMs).toBeLessThan(8_000);
    expect(result.report).toMatchObject({ trigger: 'signal', signal: 'SIGTERM', ok: true });
    expect(result.events.filter((e) => !e.startsWith('phase.'))).toEqual(['quit.started SIGTERM', `intake-stopped http:${port}`, `drained http:${port}`, 'quit.ended ok']);
    // Its own lines, without the kit's.
    expect(result.output).toContain('ev:served ' + [result.ok, result.ok, 0].join(' '));
    expect(result.output.some((l) => l.startsWith('@@nestjs-quit'))).toBe(false);
  });

  it('an app that does not exit is killed at exitTimeoutMs, and the result says so', async () => {
    const result = await runShutdown({
      app: { main: fixture('http-load.app'), env: { PLATFORM: 'express', POOL_DESTROY: 'hang', QUIT_OPTIONS: JSON.stringify({ timeoutMs: 20_000 }) } },
      load: httpLoad({ connections: 2, path: '/slow?ms=100', expectBody: 'done' }),
      exitTimeoutMs: 1_500,
    });
    expect(result.exitedInTime).toBe(false);
    expect(result.exit).toEqual({ code: null, signal: 'SIGKILL', killed: true });
    expect(Number.isNaN(result.exitMs)).toBe(true);
    expect(result.lost).toBe(0);
  });

  it('an app made to exit at its deadline: the result carries the forced report (what was still running)', async () => {
    const result = await runShutdown({
      app: { main: fixture('http-load.app'), env: { PLATFORM: 'express', POOL_DESTROY: 'hang', QUIT_OPTIONS: JSON.stringify({ timeoutMs: 1_000 }) } },
      load: httpLoad({ connections: 2, path: '/slow?ms=100', expectBody: 'done' }),
    });
    expect(result.exitedInTime).toBe(true);
    expect(result.exit).toEqual({ code: 1, signal: null, killed: false });
    expect(result.report).toMatchObject({
      trigger: 'signal',
      forced: 'deadline',
      ok: false,
      pending: ['nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks still running'],
    });
    expect(result.lost).toBe(0);
  });

  it('an app that never listens, or exits at start, fails the run with its output, and is not left running', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nestjs-quit-kit-'));
    const silent = path.join(dir, 'silent.cjs');
    const crash = path.join(dir, 'crash.cjs');
    writeFileSync(silent, `require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'pid'))}, String(process.pid)); console.log('started, listening nowhere'); setTimeout(() => undefined, 60_000);`);
    writeFileSync(crash, "console.error('bad config'); process.exit(3);");
    const load = httpLoad({ path: '/' });

    await expect(runShutdown({ app: { main: silent, startTimeoutMs: 500 }, load })).rejects.toThrow(
      /nothing listened on 127\.0\.0\.1:\d+ within 500 ms \(does the app listen on the port variable the kit set\?\); its output:\nstarted, listening nowhere/,
    );
    const pid = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(runShutdown({ app: { main: crash }, load })).rejects.toThrow(/the app exited before it listened on 127\.0\.0\.1:\d+; its output:\nbad config/);
  });

  it('bad options are refused with the option named', async () => {
    await expect(runShutdown({ app: { main: 'x.js' }, load: [] })).rejects.toThrow('runShutdown(): option "load"');
    await expect(runShutdown({ app: {} as never, load: httpLoad({ path: '/' }) })).rejects.toThrow('runShutdown(): option "app"');
    expect(() => httpLoad({ path: '/', connections: 0 })).toThrow('httpLoad(): option "connections" must be an integer from 1 to 10000, got 0');
    await expect(runShutdown({ app: { main: 'x.js' }, load: [httpLoad({ path: '/' }), httpLoad({ path: '/a' })] })).rejects.toThrow('two loads are named "http"');
    await expect(runShutdown({ app: { main: 'x.js' }, load: httpLoad({ path: '/' }), signal: 'TERM' as never })).rejects.toThrow('runShutdown(): option "signal" must be a signal name');
  });
});

describe('nestjs-quit/testing, an app.close() that rejects', () => {
  it('the run rejects with the error, and only once the load has stopped (no request after it)', async () => {
    // The load goes to a server of the test's own, which outlives the app: it counts what still comes.
    let requests = 0;
    const counter = http.createServer((_req, res) => {
      requests++;
      setTimeout(() => res.end('done'), 20);
    });
    await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
    const nest = await NestFactory.create(appModule(false), { logger: false });
    // Nest's app is a proxy that ignores assignments: the close that rejects goes on an object in front of it.
    const app = Object.create(nest, {
      close: {
        value: async () => {
          await nest.close();
          throw new Error('pool refused to close');
        },
      },
    }) as typeof nest;
    try {
      const port = (counter.address() as AddressInfo).port;
      await expect(
        runShutdown({ app: { nest: app }, load: httpLoad({ port, connections: 2, path: '/', expectBody: 'done' }), signalAfterMs: 100 }),
      ).rejects.toThrow('runShutdown(): app.close() rejected: pool refused to close');
      const atRejection = requests;
      expect(atRejection).toBeGreaterThan(0);
      await sleep(300);
      expect(requests).toBe(atRejection);
    } finally {
      counter.closeAllConnections();
      counter.close();
    }
  });
});

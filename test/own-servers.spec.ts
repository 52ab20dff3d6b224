import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { GrpcDrainer } from '../lib/drainers/grpc.drainer.js';
import { HttpDrainer } from '../lib/drainers/http.drainer.js';
import { NetDrainer } from '../lib/drainers/net.drainer.js';
import { drainerForServer } from '../lib/drainers/own-server.js';
import { QuitMessages, QuitModule, QuitService, type QuitEvent, type QuitModuleOptions } from '../lib/index.js';
import { waitFor } from './helpers/quit.js';

const options = { http: { idleGraceMs: 250 } };
const listen = (server: net.Server | http2.Http2Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));

describe('drainerForServer: the drainer of each kind of server', () => {
  it.each([
    ['http.Server', () => http.createServer(), HttpDrainer],
    ['https.Server', () => https.createServer(), HttpDrainer],
    ['http2 server', () => http2.createServer(), HttpDrainer],
    ['http2 secure server', () => http2.createSecureServer(), HttpDrainer],
    ['net.Server', () => net.createServer(), NetDrainer],
    ['tls.Server', () => tls.createServer(), NetDrainer],
    ['grpc-js Server', () => new grpc.Server(), GrpcDrainer],
  ])('%s', (_label, make, kind) => {
    expect(drainerForServer(make(), options)).toBeInstanceOf(kind);
  });

  it('a ws WebSocketServer gets the WebSocket drainer (transport http, named after its port)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    const drainer = drainerForServer(wss, options)!;
    expect([drainer.transport, drainer.name]).toEqual(['http', `ws:${(wss.address() as net.AddressInfo).port}`]);
    expect(drainer.pending()).toEqual([]); // nothing open, nothing pending
    await new Promise((resolve) => wss.close(resolve));
    expect(drainerForServer(new WebSocketServer({ noServer: true }), options)!.name).toBe('ws');
  });

  it('a grpc-js Server: the report names its connections, not a call count it cannot know', async () => {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5_000, (error) => (error ? reject(error) : resolve())));
    const drainer = drainerForServer(server, options)!;
    expect(drainer.pending()).toEqual([]); // not stopped yet: nothing to say
    drainer.stopIntake();
    expect([drainer.name, drainer.pending()]).toEqual([`grpc:${port}`, [`grpc:${port}: 1 connection(s) open`]]);
    client.close();
    await drainer.drain();
    expect(drainer.pending()).toEqual([`grpc:${port}: 0 connection(s) open`]);
  });

  it('a closer, a shutdowner, a function or anything else is not a server', () => {
    for (const value of [{ close() {} }, { shutdown() {} }, () => undefined, null, 'http', 3000, {}]) {
      expect(drainerForServer(value, options)).toBeUndefined();
    }
  });
});

describe('QuitService.onQuit(server) in a Nest app', () => {
  let app: INestApplication | undefined;
  const cleanup: Array<() => void> = [];
  afterEach(async () => {
    cleanup.splice(0).forEach((f) => f());
    await app?.close();
    app = undefined;
  });

  async function start(quitOptions: QuitModuleOptions = {}) {
    @Module({ imports: [QuitModule.forRoot({ logger: false, ...quitOptions })] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    const quit = app.get(QuitService);
    const events: string[] = [];
    quit.events$.subscribe((e: QuitEvent) => {
      if (e.type === 'transport.intake-stopped') events.push(`intake-stopped ${e.name}`);
      if (e.type === 'transport.drained') events.push(`drained ${e.name}${e.forced ? ' forced' : ''}`);
      if (e.type === 'hook.started') events.push(`hook ${e.name}`);
    });
    return { quit, events, nestPort: (app.getHttpServer().address() as net.AddressInfo).port };
  }

  it('refuses a hook\'s options for a server, naming the option; takes a name', async () => {
    const { quit } = await start();
    const server = net.createServer();
    expect(() => quit.onQuit(server, { order: 1 })).toThrow(QuitMessages.serverHookOption('net', 'order'));
    expect(() => quit.onQuit(server, { timeoutMs: 100 })).toThrow(QuitMessages.serverHookOption('net', 'timeoutMs'));
    expect(() => quit.onQuit(server, { name: '' })).toThrow(QuitMessages.serverName(''));
    // A refused server is left as it was: no listener of the module stays on it.
    const web = http.createServer();
    const listeners = () => ['connection', 'session', 'request', 'newListener'].map((e) => web.listenerCount(e));
    const before = listeners();
    expect(() => quit.onQuit(web, { order: 1 })).toThrow(QuitMessages.serverHookOption('http', 'order'));
    expect(() => quit.onQuit(web, { name: '' })).toThrow(QuitMessages.serverName(''));
    expect(listeners()).toEqual(before);
  });

  it('a bare net.Server: intake stops, an open connection is waited for until its client ends it, and nothing else is done to it', async () => {
    const { quit, events, nestPort } = await start();
    const server = net.createServer((socket) => socket.on('data', (d) => socket.write(d)));
    cleanup.push(() => server.close());
    quit.onQuit(server, { name: 'echo' });
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));

    const closing = app!.close();
    await new Promise((r) => setTimeout(r, 300));
    // Still open and still served, while the listener refuses new connections.
    client.write('ping');
    const echoed = await new Promise((resolve) => client.once('data', (d) => resolve(String(d))));
    const refused = await new Promise((resolve) => net.connect(port, '127.0.0.1').once('error', (e: NodeJS.ErrnoException) => resolve(e.code)));
    expect([echoed, refused, events.filter((e) => e.includes('echo'))]).toEqual(['ping', 'ECONNREFUSED', ['intake-stopped echo']]);
    client.end();
    await closing;
    app = undefined;
    expect(events).toEqual([`intake-stopped http:${nestPort}`, 'intake-stopped echo', `drained http:${nestPort}`, 'drained echo']);
    expect(quit.report).toMatchObject({ ok: true, pending: [] });
  });

  it('a bare net.Server: a connection still open at the phase timeout is ended (FIN) and named in the report', async () => {
    const { quit, events } = await start({ phaseTimeouts: { transports: 300 } });
    const server = net.createServer();
    cleanup.push(() => server.close());
    quit.onQuit(server);
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const ended = new Promise((resolve) => client.once('end', () => resolve('end')));
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('end', () => client.end());

    await app!.close();
    app = undefined;
    expect(await ended).toBe('end');
    expect(errors).toEqual([]);
    expect(events).toContain(`drained net:${port} forced`);
    expect(quit.report).toMatchObject({ ok: false, pending: [`transports: net:${port}: 1 connection(s) open`] });
  });

  it('a ws WebSocketServer on its own port: an idle socket gets 1001 as the drain starts, not at the phase timeout', async () => {
    const { quit, events } = await start({ phaseTimeouts: { transports: 300 } });
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => wss.close());
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as net.AddressInfo).port;
    quit.onQuit(wss);
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));

    await app!.close();
    app = undefined;
    expect(await closed).toBe(1001);
    expect(events).toContain(`drained ws:${port}`);
    expect(events).not.toContain(`drained ws:${port} forced`);
    expect(quit.report).toMatchObject({ ok: true, pending: [] });
  });

  it('a ws WebSocketServer: a burst of messages gets every reply before the 1001, and a chatty client does not hold the drain', async () => {
    const { quit, events } = await start({ phaseTimeouts: { transports: 5_000 } });
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => wss.close());
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as net.AddressInfo).port;
    // Replies 100 ms after each message, except to "tick" (no reply).
    wss.on('connection', (socket) => socket.on('message', (data) => String(data) !== 'tick' && setTimeout(() => socket.send(`re ${String(data)}`), 100)));
    quit.onQuit(wss);
    const open = async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const log: string[] = [];
      ws.on('message', (data) => log.push(String(data)));
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise((resolve) => ws.once('open', resolve));
      return { ws, log, closed };
    };
    const burst = await open();
    const chatty = await open();
    const ticker = setInterval(() => chatty.ws.readyState === WebSocket.OPEN && chatty.ws.send('tick'), 50);
    cleanup.push(() => clearInterval(ticker));
    // Ticking longer than idleGraceMs (250) before the drain: never idle under the old refresh rule.
    await new Promise((r) => setTimeout(r, 400));
    for (const m of ['a', 'b', 'c']) burst.ws.send(m);
    await new Promise((r) => setTimeout(r, 20));

    await app!.close();
    app = undefined;
    expect([await burst.closed, burst.log]).toEqual([1001, ['re a', 're b', 're c']]);
    expect(await chatty.closed).toBe(1001);
    expect(events).toContain(`drained ws:${port}`);
    expect(events).not.toContain(`drained ws:${port} forced`);
    expect(quit.report).toMatchObject({ ok: true, pending: [] });
  });

  it('a server registered while the transports phase drains is drained at once, in that phase; one registered after it is refused', async () => {
    const { quit, events, nestPort } = await start();
    // Holds the phase open: its connection is waited for until the client ends it.
    const holder = net.createServer();
    cleanup.push(() => holder.close());
    quit.onQuit(holder, { name: 'holder' });
    const holderClient = net.connect(await listen(holder), '127.0.0.1');
    await new Promise((resolve) => holderClient.once('connect', resolve));
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => wss.close());
    await new Promise((resolve) => wss.once('listening', resolve));
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const late = net.createServer();
    let refusal: unknown;
    quit.onQuit(function lateRegistration() {
      try {
        quit.onQuit(late, { name: 'late' });
      } catch (error) {
        refusal = error;
      }
    });

    const closing = app!.close();
    await waitFor(() => events.includes(`drained http:${nestPort}`), `drained http:${nestPort}`);
    await new Promise((r) => setTimeout(r, 50));
    quit.onQuit(wss, { name: 'joined' });
    expect(await new Promise((resolve) => ws.once('close', (code) => resolve(code)))).toBe(1001);
    await waitFor(() => events.includes('drained joined'), 'drained joined');
    expect(events).not.toContain('drained holder'); // still the transports phase
    holderClient.end();
    await closing;
    app = undefined;
    expect(events).toEqual([
      `intake-stopped http:${nestPort}`,
      'intake-stopped holder',
      `drained http:${nestPort}`,
      'intake-stopped joined',
      'drained joined',
      'drained holder',
      'hook lateRegistration',
    ]);
    expect(refusal).toEqual(new Error(QuitMessages.serverAfterTransports('late')));
    expect(late.listenerCount('connection')).toBe(0);
    expect(quit.report).toMatchObject({ ok: true, pending: [] });
  });

  it('unregistering a server takes off every listener the module put on it', async () => {
    const { quit } = await start();
    const server = net.createServer();
    cleanup.push(() => server.close());
    const port = await listen(server);
    const accepted = new Promise<net.Socket>((resolve) => server.on('connection', resolve));
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => wss.close());
    await new Promise((resolve) => wss.once('listening', resolve));
    const counts = () => ({ net: server.listenerCount('connection'), ws: wss.listenerCount('connection') });
    const before = counts();
    const offNet = quit.onQuit(server, { name: 'named net' });
    const offWs = quit.onQuit(wss);
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const [socket] = [...wss.clients];
    const serverSide = await accepted;
    const closeListeners = serverSide.listenerCount('close');
    expect(counts()).toEqual({ net: before.net + 1, ws: before.ws + 1 });
    expect([socket.listenerCount('message'), Object.prototype.hasOwnProperty.call(socket, 'send')]).toEqual([1, true]);
    offNet();
    offWs();
    expect(counts()).toEqual(before);
    expect(serverSide.listenerCount('close')).toBe(closeListeners - 1);
    expect([socket.listenerCount('message'), Object.prototype.hasOwnProperty.call(socket, 'send')]).toEqual([0, false]);
    client.destroy();
    ws.terminate();
  });

  it('unregistering an HTTP/1 or HTTP/2 server takes off every listener the module put on it and on its connections', async () => {
    const { quit } = await start();
    const h1 = http.createServer((_req, res) => res.end('ok'));
    const h2 = http2.createServer((_req, res) => res.end('ok'));
    cleanup.push(() => h1.close(), () => h2.close());
    const events = ['connection', 'session', 'request', 'upgrade', 'newListener'] as const;
    const counts = (server: net.Server) => events.map((e) => server.listenerCount(e));
    const before = { h1: counts(h1), h2: counts(h2) };
    const offH1 = quit.onQuit(h1);
    const offH2 = quit.onQuit(h2);
    expect({ h1: counts(h1), h2: counts(h2) }).not.toEqual(before);
    // One kept-alive HTTP/1 connection and one HTTP/2 session with a stream answered.
    const h1Port = await listen(h1);
    const h2Port = await listen(h2);
    const serverSocket = new Promise<net.Socket>((resolve) => h1.once('connection', resolve));
    const agent = new http.Agent({ keepAlive: true });
    cleanup.push(() => agent.destroy());
    await new Promise<void>((resolve, reject) => http.get({ host: '127.0.0.1', port: h1Port, agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    const serverSession = new Promise<http2.Http2Session>((resolve) => h2.once('session', resolve));
    const client = http2.connect(`http://127.0.0.1:${h2Port}`);
    cleanup.push(() => client.close());
    await new Promise<void>((resolve, reject) => client.request({ ':path': '/' }).on('error', reject).resume().on('end', resolve));
    const [socket, session] = await Promise.all([serverSocket, serverSession]);
    const closeListeners = { socket: socket.listenerCount('close'), session: session.listenerCount('close') };

    offH1();
    offH2();
    expect({ h1: counts(h1), h2: counts(h2) }).toEqual(before);
    expect({ socket: socket.listenerCount('close'), session: session.listenerCount('close') }).toEqual({
      socket: closeListeners.socket - 1,
      session: closeListeners.session - 1,
    });
  });

  it('an unregistered server is not drained; closers and functions are still hooks', async () => {
    const { quit, events, nestPort } = await start();
    const server = http.createServer();
    cleanup.push(() => server.close());
    const off = quit.onQuit(server, { name: 'gone' });
    off();
    off(); // twice is harmless
    const seen: string[] = [];
    quit.onQuit({ close: () => void seen.push('closer') });
    quit.onQuit(function stop() {
      seen.push('function');
    });
    await app!.close();
    app = undefined;
    expect(events).toEqual([`intake-stopped http:${nestPort}`, `drained http:${nestPort}`, 'hook stop', 'hook object.close']);
    expect(seen).toEqual(['function', 'closer']);
  });
});

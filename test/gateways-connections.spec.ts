import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { ModulesContainer } from '@nestjs/core';
import { WebSocketServer } from 'ws';
import { gatewaysFinder, watchGateways } from '../lib/drainers/gateways/gateways.finder.js';
import type { TransportDrainer } from '../lib/interfaces/transport-drainer.interface.js';
import { QuitMessages } from '../lib/quit.messages.js';
import { EventEmitter } from 'node:events';
import { Observable, of } from 'rxjs';
import { PersistentConnections } from '../lib/drainers/connections/persistent-connections.js';
import { isSubscription } from '../lib/drainers/gateways/graphql-ws.gateway.js';
import { GatewayDrainer } from '../lib/drainers/gateways/gateway.drainer.js';
import { rawWsKind, type WsServer } from '../lib/drainers/gateways/ws.gateway.js';
import { tapMessageHandlers, type NestWsAdapter } from '../lib/internals/nest-websockets.js';

interface Conn {
  id: string;
}

/** A protocol that records what it was asked to do; the test closes connections itself. */
function recorder() {
  const log: string[] = [];
  const conns = new PersistentConnections<Conn>({ goodbye: (c) => log.push(`goodbye ${c.id}`), destroy: (c) => log.push(`destroy ${c.id}`) });
  return { log, conns };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe('PersistentConnections', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('says goodbye at once to idle connections and resolves when the last one has closed', async () => {
    const { log, conns } = recorder();
    const a = { id: 'a' };
    const b = { id: 'b' };
    conns.add(a);
    conns.add(b);
    const drained = conns.drain();
    expect(log).toEqual(['goodbye a', 'goodbye b']);
    conns.closed(a);
    expect(await settled(drained)).toBe(false);
    conns.closed(b);
    expect(await settled(drained)).toBe(true);
    expect(conns.size).toBe(0);
  });

  it('with a grace: an idle connection says goodbye once the grace has passed since its last message or reply (at once if quiet that long); one that gets a message meanwhile is served and leaves after its reply', () => {
    jest.useFakeTimers();
    let t = 0;
    const log: string[] = [];
    const conns = new PersistentConnections<Conn>({ goodbye: (c) => log.push(`goodbye ${c.id} at ${t}`), destroy: () => undefined }, 250, () => t);
    const quiet = { id: 'quiet' };
    const recent = { id: 'recent' };
    const chatty = { id: 'chatty' };
    conns.add(quiet); // t = 0
    t = 100;
    conns.add(recent);
    conns.add(chatty);
    t = 300;
    expect(conns.begin(recent)).toBe(true);
    conns.end(recent); // its last reply at 300
    expect(conns.begin(chatty)).toBe(true);
    conns.end(chatty); // at 300 too
    t = 400;
    void conns.drain();
    expect(log).toEqual(['goodbye quiet at 400']); // quiet for 400 ms: at once
    t = 450;
    jest.advanceTimersByTime(50);
    expect(conns.begin(chatty)).toBe(true); // its next message, within the grace: served
    t = 550;
    jest.advanceTimersByTime(100); // recent's grace is over (300 + 250)
    expect(log).toEqual(['goodbye quiet at 400', 'goodbye recent at 550']);
    t = 600;
    conns.end(chatty); // the reply goes out, the goodbye right after it
    expect(log).toEqual(['goodbye quiet at 400', 'goodbye recent at 550', 'goodbye chatty at 600']);
    expect(conns.begin(chatty)).toBe(false); // nothing starts after the goodbye
    expect(jest.getTimerCount()).toBe(0);
  });

  it('lets a busy connection finish every handler it started, then says goodbye; nothing starts after it', async () => {
    const { log, conns } = recorder();
    const a = { id: 'a' };
    conns.add(a);
    expect(conns.begin(a)).toBe(true);
    expect(conns.begin(a)).toBe(true);
    const drained = conns.drain();
    expect(log).toEqual([]);
    // Before its goodbye, the connection still takes messages.
    expect(conns.begin(a)).toBe(true);
    expect(conns.inFlight).toBe(3);
    conns.end(a);
    conns.end(a);
    expect(log).toEqual([]);
    conns.end(a);
    expect(log).toEqual(['goodbye a']);
    expect(conns.begin(a)).toBe(false);
    expect(conns.inFlight).toBe(0);
    // A stray end after the goodbye changes nothing.
    conns.end(a);
    expect(log).toEqual(['goodbye a']);
    conns.closed(a);
    expect(await settled(drained)).toBe(true);
  });

  it('says goodbye at once to a connection opened during the drain, and refuses handlers on unknown ones', () => {
    const { log, conns } = recorder();
    void conns.drain();
    conns.add({ id: 'late' });
    expect(log).toEqual(['goodbye late']);
    expect(conns.begin({ id: 'unknown' })).toBe(false);
  });

  it('refuses handlers on a connection it does not follow (never added, or closed), before the drain too, and keeps no entry for it', async () => {
    const { log, conns } = recorder();
    const a = { id: 'a' };
    expect(conns.begin({ id: 'unknown' })).toBe(false);
    conns.add(a);
    conns.closed(a);
    expect(conns.begin(a)).toBe(false);
    expect([conns.size, conns.inFlight]).toEqual([0, 0]);
    // Nothing left that no close listener would ever report: the drain is over at once.
    expect(await settled(conns.drain())).toBe(true);
    expect(log).toEqual([]);
  });

  it('stops waiting for the handlers of a connection the peer dropped', async () => {
    const { conns } = recorder();
    const a = { id: 'a' };
    conns.add(a);
    conns.begin(a);
    conns.begin(a);
    const drained = conns.drain();
    conns.closed(a);
    expect(conns.inFlight).toBe(0);
    expect(await settled(drained)).toBe(true);
  });

  it('resolves at once with no connection open', async () => {
    const { conns } = recorder();
    expect(await settled(conns.drain())).toBe(true);
  });

  it('closeAll: goodbye to every connection, busy ones too, then destroys what is still open after the grace', async () => {
    jest.useFakeTimers();
    const { log, conns } = recorder();
    const idle = { id: 'idle' };
    const busy = { id: 'busy' };
    const stuck = { id: 'stuck' };
    [idle, busy, stuck].forEach((c) => conns.add(c));
    conns.begin(busy);
    void conns.drain();
    expect(log).toEqual(['goodbye idle', 'goodbye stuck']);
    conns.closed(idle);
    const closing = conns.closeAll(500);
    expect(log).toEqual(['goodbye idle', 'goodbye stuck', 'goodbye busy']);
    expect(conns.inFlight).toBe(0);
    expect(conns.begin(busy)).toBe(false);
    conns.closed(busy);
    jest.advanceTimersByTime(499);
    expect(await settled(closing)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(await settled(closing)).toBe(true);
    expect(log.slice(3)).toEqual(['destroy stuck']);
  });

  it('closeAll returns without waiting when everything closes in the grace', async () => {
    jest.useFakeTimers();
    const conns = new PersistentConnections<Conn>({ goodbye: (c) => void Promise.resolve().then(() => conns.closed(c)), destroy: () => undefined });
    conns.add({ id: 'a' });
    let done = false;
    const closing = conns.closeAll(10_000).then(() => (done = true));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(done).toBe(true);
    await closing;
  });
});

describe('isSubscription (graphql-ws operations)', () => {
  it.each([
    ['subscription { ticks }', undefined, true],
    ['subscription Ticks($n: Int = 1) @live { ticks(n: $n) }', undefined, true],
    ['{ ticks }', undefined, false],
    ['query { subscription }', undefined, false],
    ['query Q { a }\nsubscription S { b }', 'S', true],
    ['query Q { a }\nsubscription S { b }', 'Q', false],
    ['fragment F on Subscription { ticks }\nsubscription { ...F }', undefined, true],
    ['# subscription in a comment\nquery { a(s: "subscription {") }', undefined, false],
    ['mutation { work(id: "1") }', undefined, false],
  ])('%j (operation %s) → %s', (query, name, expected) => {
    expect(isSubscription(query, name)).toBe(expected);
  });
});

describe('tapMessageHandlers', () => {
  /** Nest's transform (`WebSocketsController#subscribeMessages`): a result becomes an Observable. */
  const transform = (data: unknown) =>
    new Observable<unknown>((sub) => {
      void Promise.resolve(data).then((value) => {
        if (value instanceof Observable) value.subscribe(sub);
        else {
          sub.next(value);
          sub.complete();
        }
      });
    });

  function adapterWith(log: string[]) {
    const client = new EventEmitter();
    const adapter: NestWsAdapter = {
      create: () => undefined,
      // Like platform-ws: each message runs a handler and writes what its Observable emits, nothing for nil.
      bindMessageHandlers(c, handlers, t) {
        (c as EventEmitter).on('message', (data: unknown) => {
          (t(handlers[0].callback(data)) as Observable<unknown>).subscribe((reply) => reply != null && log.push(`reply ${String(reply)}`));
        });
      },
    };
    return { client, adapter };
  }

  it('ends a handler after its reply is written, and starts none the tap refuses', async () => {
    const log: string[] = [];
    const { client, adapter } = adapterWith(log);
    let allow = true;
    expect(tapMessageHandlers(adapter, () => (allow ? () => log.push('end') : false))).toBe(true);
    adapter.bindMessageHandlers(client, [{ message: 'm', callback: async (d: unknown) => `${String(d)}!` }], transform);
    client.emit('message', 'a');
    client.emit('message', 'b');
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['reply a!', 'end', 'reply b!', 'end']);
    allow = false;
    client.emit('message', 'c');
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['reply a!', 'end', 'reply b!', 'end']);
  });

  it('ends a handler that returns an Observable when it completes, and one that throws at once', async () => {
    const log: string[] = [];
    const { client, adapter } = adapterWith(log);
    tapMessageHandlers(adapter, () => () => log.push('end'));
    adapter.bindMessageHandlers(client, [{ message: 'm', callback: async () => of(1, 2) }], transform);
    client.emit('message', 'x');
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['reply 1', 'reply 2', 'end']);

    const thrower = new EventEmitter();
    const failing = { ...adapter };
    failing.bindMessageHandlers = (c, handlers) => {
      (c as EventEmitter).on('message', () => {
        try {
          handlers[0].callback();
        } catch {
          log.push('caught');
        }
      });
    };
    tapMessageHandlers(failing, () => () => log.push('end 2'));
    failing.bindMessageHandlers(thrower, [{ message: 'm', callback: () => { throw new Error('sync'); } }], transform);
    thrower.emit('message');
    expect(log.slice(3)).toEqual(['end 2', 'caught']);
  });

  it('ends every handler that returns the same frozen object, and never writes on it', async () => {
    const log: string[] = [];
    const { client, adapter } = adapterWith(log);
    tapMessageHandlers(adapter, () => () => log.push('end'));
    const pong = Object.freeze({ toString: () => 'pong' });
    const handler = () => pong;
    adapter.bindMessageHandlers(client, [{ message: 'm', callback: handler }], transform);
    expect(() => {
      client.emit('message', 'a');
      client.emit('message', 'b');
    }).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['reply pong', 'end', 'reply pong', 'end']);
    expect(Reflect.ownKeys(pong)).toEqual(['toString']);

    // An adapter that never hands the result to `transform`: ended once the result is seen.
    const silent = new EventEmitter();
    const custom: NestWsAdapter = { create: () => undefined, bindMessageHandlers: (c, handlers) => void (c as EventEmitter).on('message', () => handlers[0].callback()) };
    tapMessageHandlers(custom, () => () => log.push('end custom'));
    custom.bindMessageHandlers(silent, [{ message: 'm', callback: handler }], transform);
    silent.emit('message');
    silent.emit('message');
    await new Promise((r) => setImmediate(r));
    expect(log.slice(4)).toEqual(['end custom', 'end custom']);
  });
});

describe('gatewaysFinder without the adapter seam', () => {
  it('warns, finds the gateway through its @WebSocketServer() property, and still says goodbye with 1001', async () => {
    const server = new WebSocketServer({ noServer: true });
    class Gateway {}
    Reflect.defineMetadata('websockets:is_gateway', true, Gateway);
    const instance = Object.assign(new Gateway(), { server });
    // A container whose ApplicationConfig cannot be reached: the adapter is never watched.
    const modules = new Map([['m', { providers: new Map([['Gateway', { instance, metatype: Gateway }]]) }]]) as unknown as ModulesContainer;
    watchGateways(modules, 250);
    const added: TransportDrainer[] = [];
    const warnings: string[] = [];
    gatewaysFinder({ modules, options: { logger: { warn: (m: string) => warnings.push(m) } }, add: (d: TransportDrainer) => added.push(d) } as never);
    expect(added.map((d) => d.name)).toEqual(['ws']);
    expect(warnings).toEqual([QuitMessages.gatewaysNotWatched()]);

    const closes: Array<[number, string]> = [];
    const client = Object.assign(new EventEmitter(), {
      readyState: 1,
      close(code: number, reason: string) {
        closes.push([code, reason]);
        queueMicrotask(() => {
          client.readyState = 3;
          client.emit('close');
        });
      },
      terminate: () => closes.push([1006, 'terminated']),
    });
    server.emit('connection', client);
    expect(added[0].pending()).toEqual(['ws: 1 connection(s) open']);
    await added[0].stopIntake();
    await added[0].drain();
    expect(closes).toEqual([[1001, 'going away']]);
    expect(added[0].pending()).toEqual([]);
    server.close();
  });
});

describe('rawWsKind: a ws server the app registered, one unit of work per message', () => {
  const GRACE = 250;

  class FakeSocket extends EventEmitter {
    readyState = 1;
    sent: unknown[] = [];
    closedWith?: number;
    send(data: unknown) {
      this.sent.push(data);
    }
    close(code?: number) {
      this.closedWith = code;
      this.readyState = 2;
    }
    terminate() {
      this.readyState = 3;
    }
  }

  function serverWith(...sockets: FakeSocket[]) {
    const server = Object.assign(new EventEmitter(), { clients: new Set(sockets), handleUpgrade: () => undefined });
    const drainer = new GatewayDrainer(rawWsKind(GRACE), server as unknown as WsServer);
    return { server, drainer };
  }

  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts a burst as one unit per message, and each reply ends the oldest: 1001 after the last reply', () => {
    jest.useFakeTimers();
    const a = new FakeSocket();
    const { drainer } = serverWith(a);
    for (let i = 0; i < 3; i++) a.emit('message', `m${i}`);
    void drainer.drain();
    expect(drainer.pending()).toEqual(['ws: 3 message(s) in flight, 1 connection(s) open']);
    a.send('r0');
    a.send('r1');
    expect([a.closedWith, drainer.pending()]).toEqual([undefined, ['ws: 1 message(s) in flight, 1 connection(s) open']]);
    a.send('r2');
    expect(a.closedWith).toBe(1001);
  });

  it('ends a message without reply idleGraceMs after it came; a send on an idle socket ends nothing', () => {
    jest.useFakeTimers();
    const a = new FakeSocket();
    const b = new FakeSocket();
    const { drainer } = serverWith(a, b);
    b.send('broadcast before anything came'); // no unit open: nothing to end
    a.emit('message', 'fire and forget');
    jest.advanceTimersByTime(100);
    void drainer.drain();
    expect([a.closedWith, b.closedWith]).toEqual([undefined, 1001]);
    jest.advanceTimersByTime(GRACE - 100 - 1);
    expect(a.closedWith).toBeUndefined();
    jest.advanceTimersByTime(1);
    expect(a.closedWith).toBe(1001);
  });

  it('a client that sends more often than idleGraceMs, never answered, gets its 1001 idleGraceMs into the drain', async () => {
    jest.useFakeTimers();
    const a = new FakeSocket();
    const { drainer } = serverWith(a);
    let drained = false;
    a.emit('message', 'tick');
    void drainer.drain().then(() => (drained = true));
    let ticks = 0;
    // Every 100 ms, for up to 2 s (the old rule: refreshed for ever, held until the phase timeout).
    while (a.closedWith === undefined && ticks < 20) {
      jest.advanceTimersByTime(100);
      ticks++;
      if (a.closedWith === undefined) a.emit('message', 'tick');
    }
    expect([a.closedWith, ticks]).toEqual([1001, Math.ceil(GRACE / 100)]);
    a.readyState = 3;
    a.emit('close');
    await Promise.resolve();
    expect([drained, drainer.pending()]).toEqual([true, []]);
  });

  it('dispose takes the connection listener, the message listener and the send wrapper off again', () => {
    jest.useFakeTimers();
    const a = new FakeSocket();
    const { server, drainer } = serverWith(a);
    const before = { connection: server.listenerCount('connection'), message: a.listenerCount('message'), close: a.listenerCount('close') };
    expect(before).toEqual({ connection: 1, message: 1, close: 2 });
    expect(Object.prototype.hasOwnProperty.call(a, 'send')).toBe(true);
    a.emit('message', 'pending');
    drainer.dispose();
    expect({ connection: server.listenerCount('connection'), message: a.listenerCount('message'), close: a.listenerCount('close') }).toEqual({ connection: 0, message: 0, close: 0 });
    expect(Object.prototype.hasOwnProperty.call(a, 'send')).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });
});

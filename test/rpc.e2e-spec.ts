import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { Child, childStarter } from './helpers/child.js';
import { brokerPort } from './helpers/brokers.js';

// The test's own Redis and TCP clients: keep their connection logs out of the output.
Logger.overrideLogger(['error']);

const start = childStarter();
const clients: ClientProxy[] = [];
async function client(transport: Transport.TCP | Transport.REDIS, port: number): Promise<ClientProxy> {
  const c = ClientProxyFactory.create({ transport, options: { host: '127.0.0.1', port } } as never) as unknown as ClientProxy;
  clients.push(c);
  await c.connect();
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const count = (app: Child, prefix: string) => app.lines.filter((l) => l.startsWith(prefix)).length;
async function until(app: Child, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < 1_000 && count(app, prefix) < n; i++) {
    await Promise.race([new Promise((r) => setTimeout(r, 10)), app.exited]);
  }
  expect(count(app, prefix)).toBe(n);
}
/** Settles a request to `{ ok, value }` or `{ ok: false, error }`, never rejecting. */
const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, error: error.message }),
  );

describe('TCP transport drain', () => {
  async function boot(env: Record<string, string> = {}) {
    const downstream = start('rpc-downstream');
    const downstreamPort = await downstream.ready();
    const app = start('rpc-app', { TCP: '1', DOWNSTREAM_PORT: String(downstreamPort), ...env });
    await app.ready();
    const tcpPort = Number((await app.waitFor(/^port tcp /)).split(' ')[2]);
    return { app, downstream, tcpPort };
  }

  it('SIGTERM: 16 requests in flight on one connection are answered, a handler in flight and a quit hook still call another service, new connections are refused', async () => {
    const { app, downstream, tcpPort } = await boot();
    const c = await client(Transport.TCP, tcpPort);
    const requests = Array.from({ length: 16 }, (_, id) => settle(lastValueFrom(c.send<{ id: number }>('slow', { id, ms: 300 }))));
    const relayed = settle(lastValueFrom(c.send<number>('relay', 21)));
    await until(app, 'ev:msg.start', 16);
    await until(app, 'ev:relay.start', 1);

    app.kill('SIGTERM');
    await app.waitFor(`ev:intake-stopped tcp:${tcpPort}`);
    const late = await settle(client(Transport.TCP, tcpPort));
    const results = await Promise.all(requests);
    const relay = await relayed;
    const exit = await app.exited;

    expect(results).toEqual(Array.from({ length: 16 }, (_, id) => ({ ok: true, value: { id } })));
    expect(relay).toEqual({ ok: true, value: 42 });
    expect(downstream.events()).toEqual(['double 21', 'double 5']);
    expect(late).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
    const drain = app.events().filter((e) => /^(phase\.(transports|workers|hooks)|intake-stopped|drained|relay.end|hook.relay|report)/.test(e));
    expect(drain.filter((e) => !e.includes('http:'))).toEqual([
      'phase.transports',
      `intake-stopped tcp:${tcpPort}`,
      'relay.end 42',
      `drained tcp:${tcpPort}`,
      'phase.workers',
      'phase.hooks',
      'hook.relay 10',
      'report {"ok":true,"pending":[]}',
    ]);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('a request still running at the phase timeout is cut off and named in the report', async () => {
    const { app, tcpPort } = await boot({ QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 400 } }) });
    const c = await client(Transport.TCP, tcpPort);
    const stuck = settle(lastValueFrom(c.send('slow', { id: 1, ms: 60_000 })));
    await until(app, 'ev:msg.start', 1);

    app.kill('SIGTERM');
    const [result, exit] = await Promise.all([stuck, app.exited]);

    expect(result.ok).toBe(false);
    expect(app.events()).toContain(`drained tcp:${tcpPort} forced`);
    expect(app.events()).toContain(
      `report {"ok":false,"pending":["transports: tcp:${tcpPort}: 1 request(s) in flight, 1 connection(s) open"]}`,
    );
    expect(exit).toMatchObject({ code: 1, signal: null });
  });
});

describe('Redis transport drain (real redis-server on loopback)', () => {
  // The run's redis-server (test/helpers/brokers.setup.ts); only this test uses the `slow` channel.
  const redis = { get port() { return brokerPort('redis'); } };

  it('SIGTERM: the subscriber unsubscribes first, then the 8 requests in flight are answered', async () => {
    const downstream = start('rpc-downstream');
    const app = start('rpc-app', { REDIS_PORT: String(redis.port), DOWNSTREAM_PORT: String(await downstream.ready()) });
    await app.ready();
    const admin = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    await admin.connect();
    try {
      const c = await client(Transport.REDIS, redis.port);
      expect(await admin.pubsub('NUMSUB', 'slow')).toEqual(['slow', 1]);
      const requests = Array.from({ length: 8 }, (_, id) => settle(lastValueFrom(c.send<{ id: number }>('slow', { id, ms: 300 }))));
      await until(app, 'ev:msg.start', 8);

      app.kill('SIGTERM');
      await app.waitFor(`ev:intake-stopped redis:${redis.port}`);
      // No subscriber left: the next request goes to the other replicas, not to this one.
      const subscribersAfterIntake = await admin.pubsub('NUMSUB', 'slow');
      const results = await Promise.all(requests);
      const exit = await app.exited;

      expect(subscribersAfterIntake).toEqual(['slow', 0]);
      expect(results).toEqual(Array.from({ length: 8 }, (_, id) => ({ ok: true, value: { id } })));
      const drain = app.events().filter((e) => /^(intake-stopped|drained|report)/.test(e) && !e.includes('http:'));
      expect(drain).toEqual([`intake-stopped redis:${redis.port}`, `drained redis:${redis.port}`, 'report {"ok":true,"pending":[]}']);
      expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    } finally {
      admin.disconnect();
    }
  });
});

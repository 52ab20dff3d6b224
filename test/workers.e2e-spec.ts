import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { QuitModule, QuitService, TrackedWorker } from '../lib/index.js';
import { childStarter } from './helpers/child.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { untilQuitting } from './helpers/quit.js';

const start = childStarter();

describe('a hand-written consumer loop (quit.signal + trackWorker) over a Redis list', () => {
  let redis: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis({ host: redis.host, port: redis.port });
  });
  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  it('finishes the message in flight before the hooks and its connection closing; takes no other; leaves the rest in the list', async () => {
    await client.rpush('orders', 'm1', 'm2', 'm3', 'm4', 'm5');
    const app = start('worker-loop.app', { REDIS_PORT: String(redis.port) });
    await app.ready();
    await app.waitFor('ev:msg.start m1');
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(app.events()).toEqual([
      'msg.start m1',
      'phase.fire',
      'phase.readiness',
      'phase.transports',
      'phase.workers',
      'msg.end m1',
      'loop.exited',
      'phase.hooks',
      'hook.flush',
      'report {"ok":true,"pending":[],"skipped":0}',
      'redis.quit',
    ]);
    expect(await client.lrange('orders', 0, -1)).toEqual(['m2', 'm3', 'm4', 'm5']);
    expect(await client.llen('orders:processing')).toBe(0);
  });
});

describe('without the optional peers (@nestjs/schedule, @nestjs/bullmq, bullmq)', () => {
  it('loads, tracks a worker and shuts down cleanly', async () => {
    const app = start('worker-no-peers.app');
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(app.events()).toEqual([
      'peer.missing ERR_MODULE_NOT_FOUND',
      'phase.fire',
      'phase.readiness',
      'phase.transports',
      'phase.workers',
      'work.end',
      'phase.hooks',
    ]);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });
});

describe("@TrackedWorker({ whenQuitting: 'run' })", () => {
  it('still runs a call made after quitting began, and the workers phase waits for it', async () => {
    const log: string[] = [];
    @Injectable()
    class Handler {
      @TrackedWorker({ whenQuitting: 'run' })
      async handle(id: string): Promise<string> {
        await new Promise((r) => setTimeout(r, 50));
        log.push(`handled ${id}`);
        return id;
      }
      @TrackedWorker()
      async tick(): Promise<string> {
        log.push('ticked');
        return 'ticked';
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [QuitModule.forRoot({ logger: false })], providers: [Handler] }).compile();
    const app = await moduleRef.createNestApplication({ logger: false }).init();
    const quit = app.get(QuitService);
    const handler = app.get(Handler);
    quit.events$.subscribe((e) => e.type === 'phase.started' && log.push(`phase ${e.phase}`));
    // app.close() starts it: quit() in-process would raise a signal at the test runner.
    const closing = app.close();
    await untilQuitting(quit);
    const [late, skipped] = [handler.handle('late'), handler.tick()];
    await closing;
    expect(await late).toBe('late');
    expect(await skipped).toBeUndefined();
    expect(log).toEqual(['phase fire', 'phase readiness', 'phase transports', 'phase workers', 'handled late', 'phase hooks']);
    expect(quit.report).toMatchObject({ ok: true, skippedWorkerRuns: 1 });
  });
});

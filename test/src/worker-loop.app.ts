/**
 * A hand-written consumer loop over a Redis list (the reliable-queue pattern: LMOVE to a
 * processing list, LREM once handled), written the documented way: the loop checks
 * `quit.signal` before each fetch, and counts each fetch-and-handle with `trackWorker`.
 * Its Redis connection, like a pool, is closed in `onModuleDestroy`.
 *
 * env: REDIS_PORT; the first message is held until quitting begins, then 200 ms more.
 */
import 'reflect-metadata';
import { Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { QuitModule, QuitService } from '../../lib/index.js';
import { ev } from './log.js';
import { bootWorkerFixture, FlushHook, untilQuitting } from './worker-common.js';


@Injectable()
class OrdersConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT) });
  private handled = 0;

  constructor(private readonly quit: QuitService) {}

  onApplicationBootstrap(): void {
    void this.consume();
  }

  private async consume(): Promise<void> {
    const { signal } = this.quit;
    while (!signal.aborted) {
      // Counted from the fetch on: a message taken just as quitting begins is still handled.
      const run = this.quit.trackWorker('orders-consumer');
      let message: string | null = null;
      try {
        message = await this.redis.lmove('orders', 'orders:processing', 'LEFT', 'RIGHT');
        if (message !== null) {
          await this.handle(message);
          await this.redis.lrem('orders:processing', 1, message);
        }
      } catch (error) {
        ev(`msg.failed ${message} ${(error as Error).message}`);
      } finally {
        run.done();
      }
      // An empty list: pause, but wake up at once when quitting begins.
      if (message === null) await sleepFor(50, undefined, { signal }).catch(() => undefined);
    }
    ev('loop.exited');
  }

  private async handle(message: string): Promise<void> {
    ev(`msg.start ${message}`);
    if (++this.handled === 1) await untilQuitting(this.quit);
    await sleepFor(200);
    if (this.redis.status !== 'ready') throw new Error('redis closed under the handler');
    ev(`msg.end ${message}`);
  }

  async onModuleDestroy(): Promise<void> {
    ev('redis.quit');
    await this.redis.quit();
  }
}

@Module({
  imports: [QuitModule.forRoot({ timeoutMs: 8_000 })],
  providers: [OrdersConsumer, FlushHook],
})
class AppModule {}

void bootWorkerFixture(AppModule);

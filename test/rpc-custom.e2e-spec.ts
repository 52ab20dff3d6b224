import { describe, expect, it } from '@jest/globals';
import { Controller, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BaseRpcContext, MessagePattern, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { QuitModule, QuitService, type QuitEvent } from '../lib/index.js';

/**
 * A transport of the user's own, delivering messages from memory: the drain must work
 * for it without a line of transport-specific code, by counting its handlers in flight.
 */
class MemoryTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = Symbol('memory');
  closed = false;

  listen(callback: () => void): void {
    callback();
  }
  close(): void {
    this.closed = true;
  }
  on(): void {}
  unwrap<T>(): T {
    return this as unknown as T;
  }

  /** What a transport does with a request read from the wire. */
  deliver(pattern: string, data: unknown): Promise<unknown> {
    const handler = this.getHandlerByPattern(pattern)!;
    const ctx = new BaseRpcContext([]);
    return new Promise((resolve, reject) => {
      this.handleRequest(
        ctx,
        async () => this.transformToObservable(await handler(data, ctx)),
        (packet) => (packet.err ? reject(packet.err) : 'response' in packet ? resolve(packet.response) : undefined),
      );
    });
  }
}

const log: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

@Injectable()
class Store implements OnModuleDestroy {
  onModuleDestroy(): void {
    log.push('store.destroy');
  }
}

@Controller()
class WorkController {
  @MessagePattern('work')
  async work(ms: number): Promise<string> {
    await sleep(ms);
    log.push(`work.end ${ms}`);
    return `done ${ms}`;
  }
}

@Module({ imports: [QuitModule.forRoot({ logger: false, phaseTimeouts: { transports: 1_000 } })], controllers: [WorkController], providers: [Store] })
class AppModule {}

describe('any microservice strategy (a custom transport)', () => {
  it('app.close(): the handlers in flight finish before any onModuleDestroy, then Nest closes the strategy', async () => {
    log.length = 0;
    const strategy = new MemoryTransport();
    const app = await NestFactory.createMicroservice(AppModule, { strategy, logger: false });
    await app.listen();
    const events: QuitEvent[] = [];
    app.get(QuitService).events$.subscribe((e) => events.push(e));

    const replies = [150, 50, 100].map((ms) => strategy.deliver('work', ms));
    await app.close();

    expect(await Promise.all(replies)).toEqual(['done 150', 'done 50', 'done 100']);
    expect(log).toEqual(['work.end 50', 'work.end 100', 'work.end 150', 'store.destroy']);
    const transport = events.filter((e) => e.type.startsWith('transport.'));
    expect(transport).toMatchObject([
      { type: 'transport.intake-stopped', transport: 'rpc', name: 'memory' },
      { type: 'transport.drained', transport: 'rpc', name: 'memory', forced: false },
    ]);
    expect(strategy.closed).toBe(true);
  });

  it('a handler still running at the phase timeout is counted in the report and the strategy closed', async () => {
    log.length = 0;
    const strategy = new MemoryTransport();
    const app = await NestFactory.createMicroservice(AppModule, { strategy, logger: false });
    await app.listen();
    const quit = app.get(QuitService);

    void strategy.deliver('work', 1_500);
    void strategy.deliver('work', 10);
    await app.close();

    expect(quit.report?.pending).toEqual(['transports: memory: 1 message(s) in flight']);
    expect(quit.report?.ok).toBe(false);
    expect(log).toEqual(['work.end 10', 'store.destroy']);
    expect(strategy.closed).toBe(true);
    await sleep(600); // let the cut-off handler's timer end before the test does
  });
});

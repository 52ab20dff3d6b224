/**
 * An endless SSE stream that ignores `quit.signal`: `GET /events` sends `{ id: n, data:
 * 'event n' }` every 30 ms, from `Last-Event-ID` + 1 on (an EventSource resuming), or
 * from 1. Prints `ev:sse.open <first id>` and, when Nest unsubscribes the Observable,
 * `ev:sse.teardown <last id sent>`. `GET /slow?ms=` is an ordinary request.
 *
 * env: PLATFORM=express|fastify, QUIT_OPTIONS (JSON).
 */
import 'reflect-metadata';
import { Controller, Get, Headers, Module, Query, Sse, type INestApplication, type MessageEvent } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Observable } from 'rxjs';
import { QuitModule, QuitService, type QuitModuleOptions } from '../../lib/index.js';
import { ev, sleep } from './log.js';
import { printQuitEvents } from './rpc-events.js';

const TICK_MS = 30;

@Controller()
class SseController {
  @Sse('events')
  events(@Headers('last-event-id') lastEventId?: string): Observable<MessageEvent> {
    const first = lastEventId ? Number(lastEventId) + 1 : 1;
    ev(`sse.open ${first}`);
    return new Observable<MessageEvent>((subscriber) => {
      let next = first;
      const timer = setInterval(() => subscriber.next({ id: String(next), data: `event ${next++}` }), TICK_MS);
      return () => {
        clearInterval(timer);
        ev(`sse.teardown ${next - 1}`);
      };
    });
  }

  @Get('slow')
  async slow(@Query('ms') ms = '300'): Promise<string> {
    await sleep(Number(ms));
    return 'done';
  }
}

@Module({
  imports: [QuitModule.forRoot({ timeoutMs: 8_000, ...(JSON.parse(process.env.QUIT_OPTIONS ?? '{}') as QuitModuleOptions) })],
  controllers: [SseController],
})
class SseModule {}

async function main() {
  const logger = ['error', 'warn'] as ('error' | 'warn')[];
  const app: INestApplication =
    process.env.PLATFORM === 'fastify' ? await NestFactory.create(SseModule, new FastifyAdapter(), { logger }) : await NestFactory.create(SseModule, { logger });
  app.enableShutdownHooks();
  printQuitEvents(app.get(QuitService));
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();

/**
 * The long-lived connections benchmark's app (Express). KIND=ws (`@nestjs/platform-ws`
 * gateway on the HTTP server), io (Socket.IO gateway, Nest's default adapter) or sse (an
 * endless `@Sse()` stream). The `work` message handler takes HANDLER_MS (300) and then
 * uses a pool closed in `onModuleDestroy`; it prints `ev:start <id>` when it starts.
 * VARIANT=nest: `enableShutdownHooks()` only; quit: + `QuitModule.forRoot()`. Prints
 * `ready <port>`.
 */
import 'reflect-metadata';
import { Controller, Module, Sse, type INestApplication, type MessageEvent } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { interval, map, type Observable } from 'rxjs';
import { QuitModule } from '../../lib/index.js';
import { Pool } from './pool.js';

const KIND = process.env.KIND ?? 'ws';
const HANDLER_MS = Number(process.env.HANDLER_MS ?? 300);
@WebSocketGateway()
class WorkGateway {
  constructor(private readonly pool: Pool) {}

  @SubscribeMessage('work')
  async work(@MessageBody() id: string) {
    process.stdout.write(`ev:start ${id}\n`);
    await this.pool.query(HANDLER_MS);
    return KIND === 'ws' ? { event: 'done', data: id } : id;
  }
}

@Controller()
class SseController {
  @Sse('sse')
  sse(): Observable<MessageEvent> {
    return interval(50).pipe(map((n) => ({ data: `tick ${n}`, id: String(n) })));
  }
}

@Module({
  imports: process.env.VARIANT === 'quit' ? [QuitModule.forRoot({ logger: false })] : [],
  controllers: KIND === 'sse' ? [SseController] : [],
  providers: KIND === 'sse' ? [] : [WorkGateway, Pool],
})
class AppModule {}

async function main() {
  const app: INestApplication = await NestFactory.create(AppModule, { logger: ['error'] });
  if (KIND === 'ws') app.useWebSocketAdapter(new WsAdapter(app));
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();

/**
 * The soak app: `GET /work?ms=N` uses a pool closed in `onModuleDestroy` (a request that
 * outlives the pool fails with 500); QuitModule drains before that. Prints `ready <port>`.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QuitModule } from '../../lib/index.js';

@Injectable()
class Pool implements OnModuleDestroy {
  private open = true;
  async query(ms: number): Promise<string> {
    if (!this.open) throw new Error('pool is closed');
    await new Promise((r) => setTimeout(r, ms));
    if (!this.open) throw new Error('pool closed while a query ran');
    return 'ok';
  }
  onModuleDestroy(): void {
    this.open = false;
  }
}

@Controller()
class WorkController {
  constructor(private readonly pool: Pool) {}
  @Get('work')
  work(@Query('ms') ms = '50'): Promise<string> {
    return this.pool.query(Number(ms));
  }
}

@Module({ imports: [QuitModule.forRoot({ logger: false })], controllers: [WorkController], providers: [Pool] })
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);

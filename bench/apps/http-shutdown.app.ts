/**
 * The HTTP shutdown benchmark's app: `GET /slow?ms=` takes `ms` and then uses a "pool"
 * closed in `onModuleDestroy` (a request still running then fails with 500);
 * `GET /ping` is the trivial route for throughput; `GET /heap` collects garbage and answers
 * the heap used (bytes). Prints `ready <port>`.
 *
 * env: PLATFORM=express|fastify; VARIANT=
 * - nest: `enableShutdownHooks()` only
 * - force: + `forceCloseConnections: true`
 * - 503: + `return503OnClosing: true`
 * - peer: nestjs-graceful-shutdown (http-terminator), its own signal handling
 * - quit: `QuitModule.forRoot()` + `enableShutdownHooks()`
 *
 * STAMPS=1: prints the server's own times of its last 200 answer and its exit (`exit-stamps.ts`).
 */
import 'reflect-metadata';
import { Controller, Get, Module, Query, type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { GracefulShutdownModule, setupGracefulShutdown } from 'nestjs-graceful-shutdown';
import { QuitModule, QuitService } from '../../lib/index.js';
import { stampExit } from './exit-stamps.js';
import { heapUsedAfterGc } from './heap.js';
import { Pool } from './pool.js';

const variant = process.env.VARIANT ?? 'nest';


@Controller()
class BenchController {
  constructor(private readonly pool: Pool) {}

  @Get('slow')
  async slow(@Query('ms') ms = '300'): Promise<string> {
    await this.pool.query(Number(ms));
    return 'done';
  }

  @Get('ping')
  ping(): string {
    return 'pong';
  }

  @Get('heap')
  heap(): string {
    return String(heapUsedAfterGc());
  }
}

const imports =
  variant === 'quit' ? [QuitModule.forRoot({ logger: false })] : variant === 'peer' ? [GracefulShutdownModule.forRoot()] : [];

@Module({ imports, controllers: [BenchController], providers: [Pool] })
class BenchModule {}

const options: NestApplicationOptions = {
  logger: false,
  forceCloseConnections: variant === 'force',
  return503OnClosing: variant === '503',
};
const app: INestApplication =
  process.env.PLATFORM === 'fastify'
    ? await NestFactory.create(BenchModule, new FastifyAdapter(), options)
    : await NestFactory.create(BenchModule, options);
if (variant === 'quit') {
  // For a look at a slow run: how long each phase took.
  app.get(QuitService).events$.subscribe((e) => {
    if (e.type === 'quit.ended') process.stdout.write(`phases ${e.report.phases.map((p) => `${p.phase}=${p.durationMs}`).join(' ')}\n`);
  });
}
if (variant === 'peer') setupGracefulShutdown({ app });
else app.enableShutdownHooks();
if (process.env.STAMPS) stampExit(app.getHttpServer());
await app.listen(0, '127.0.0.1');
process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);

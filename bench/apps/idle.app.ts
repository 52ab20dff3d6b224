/**
 * The smallest app: one route, shutdown hooks on. With WITH_QUIT=1 it imports
 * `QuitModule.forRoot()`; otherwise it is bare Nest. Prints `ready <port>`.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QuitModule } from '../../lib/index.js';

@Controller()
class PingController {
  @Get('ping')
  ping(): string {
    return 'pong';
  }
}

const withQuit = process.env.WITH_QUIT === '1';

@Module({ imports: withQuit ? [QuitModule.forRoot({ logger: false })] : [], controllers: [PingController] })
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);

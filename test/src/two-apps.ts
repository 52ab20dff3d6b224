/**
 * Two Nest apps in one process, both with shutdown hooks and the quit module. App B has
 * a quit hook that takes 500 ms, so app A is closed first and Nest re-raises the signal
 * for it while B is still shutting down. Prints `ready 0` once both listen.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OnQuit, QuitModule } from '../../lib/index.js';
import { ev, sleep } from './log.js';

@Injectable()
class SlowFlush {
  @OnQuit()
  async flush(): Promise<void> {
    ev('b.hook.start');
    await sleep(500);
    ev('b.hook.end');
  }
  onModuleDestroy(): void {
    ev('b.destroy');
  }
}

@Injectable()
class QuickClose {
  onModuleDestroy(): void {
    ev('a.destroy');
  }
}

@Module({ imports: [QuitModule.forRoot({ logger: false })], providers: [QuickClose] })
class AppA {}

@Module({ imports: [QuitModule.forRoot({ logger: false })], providers: [SlowFlush] })
class AppB {}

async function main() {
  for (const module of [AppA, AppB]) {
    const app = await NestFactory.create(module, { logger: ['error'] });
    app.enableShutdownHooks();
    await app.listen(0, '127.0.0.1');
  }
  process.on('exit', (code) => ev(`exit ${code}`));
  process.stdout.write('ready 0\n');
}

void main();

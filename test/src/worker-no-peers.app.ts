/**
 * The module without its optional peers: `@nestjs/schedule`, `@nestjs/bullmq`, `bullmq`
 * and `cron` made unresolvable by a module resolve hook, as if not installed. Loading
 * the module, booting an app with a tracked worker and shutting it down must work.
 */
import { register } from 'node:module';

const hooks = `
const blocked = /^(@nestjs\\/schedule|@nestjs\\/bullmq|bullmq|cron)(\\/|$)/;
export async function resolve(specifier, context, next) {
  if (blocked.test(specifier)) {
    const error = new Error("Cannot find package '" + specifier + "'");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const ev = (name: string) => process.stdout.write(`ev:${name}\n`);

async function main() {
  await import('@nestjs/schedule').then(
    () => ev('peer.loaded'),
    (error: NodeJS.ErrnoException) => ev(`peer.missing ${error.code}`),
  );
  await import('reflect-metadata');
  const { Injectable, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { QuitModule, QuitService, TrackedWorker } = await import('../../lib/index.js');

  @Injectable()
  class Work {
    @TrackedWorker()
    async run(): Promise<void> {
      await new Promise((r) => setTimeout(r, 100));
      ev('work.end');
    }
  }

  @Module({ imports: [QuitModule.forRoot({ logger: false })], providers: [Work] })
  class AppModule {}

  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  app.get(QuitService).events$.subscribe((e) => {
    if (e.type === 'phase.started') ev(`phase.${e.phase}`);
  });
  void app.get(Work).run();
  process.stdout.write('ready 0\n');
}

void main();

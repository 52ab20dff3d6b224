/**
 * Several Nest apps in one process: APPS apps created, started and closed one after the
 * other with shutdown hooks, then CONCURRENT apps alive at once. Prints the process
 * listener counts before and after, and every process warning.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QuitModule } from '../../lib/index.js';

const warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));

@Module({ imports: [QuitModule.forRoot({ logger: false })] })
class AppModule {}

const counts = () =>
  JSON.stringify(
    Object.fromEntries(['SIGTERM', 'SIGINT', 'newListener', 'removeListener'].map((e) => [e, process.listenerCount(e)])),
  );

async function main() {
  const before = counts();
  for (let i = 0; i < Number(process.env.APPS ?? 15); i++) {
    const app = await NestFactory.create(AppModule, { logger: false });
    app.enableShutdownHooks();
    await app.listen(0, '127.0.0.1');
    await app.close();
  }
  const apps = [];
  for (let i = 0; i < Number(process.env.CONCURRENT ?? 12); i++) {
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
  }
  await Promise.all(apps.map((a) => a.close()));
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  process.stdout.write(`before ${before}\nafter ${counts()}\nwarnings ${JSON.stringify(warnings)}\n`);
}

void main();

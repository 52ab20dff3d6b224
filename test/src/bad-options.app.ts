/** Boots an app with QUIT_OPTIONS (JSON) and says whether it started. */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QuitModule } from '../../lib/index.js';

async function main() {
  @Module({ imports: [QuitModule.forRoot(JSON.parse(process.env.QUIT_OPTIONS ?? '{}'))] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  process.stdout.write('started\n');
  await app.close();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exit(1);
});

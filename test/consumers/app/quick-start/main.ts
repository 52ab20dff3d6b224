/**
 * The README's quick start, main.ts: from the line `// main.ts` on, word for word the
 * README's block (test/consumers.e2e-spec.ts compares them). Compiled, never run (its
 * ports and proto are the README's): it proves the README's steps type-check as written,
 * in a CommonJS and in an ESM app. ../main.ts runs the same steps on free ports.
 */
// main.ts — the one line about shutting down is enableShutdownHooks()
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { AppModule } from './app.module.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  app.connectMicroservice<MicroserviceOptions>({ // a gRPC app only, as you have it already
    transport: Transport.GRPC,
    options: { package: 'orders', protoPath: 'orders.proto', url: '0.0.0.0:5000' },
  });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(3000);
}
bootstrap();

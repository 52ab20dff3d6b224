/**
 * The sample app: HTTP and gRPC (hybrid), a cron job, a queue consumer (BullMQ with
 * REDIS_PORT set, an in-process queue otherwise), a database pool closed in
 * `onModuleDestroy`, quit hooks and a readiness probe. Nothing below is about shutting
 * down beyond `enableShutdownHooks()`: the quit module finds the servers and workers.
 *
 *   npm run sample            # compile, then node build/sample/src/main.js
 *   npx nest start            # the same through the Nest CLI (nest-cli.json)
 *
 * env: PORT (3000), GRPC_PORT (50051), REDIS_HOST/REDIS_PORT, READINESS_DELAY_MS, SAMPLE_JSON=1.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { AppModule } from './app.module.js';
import { ORDERS_PROTO, config } from './config.js';
import { MetricsService } from './metrics/metrics.service.js';
import { printJson } from './quit-events.printer.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: config.json ? ['error', 'warn'] : undefined });
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.GRPC,
    options: { package: 'sample', protoPath: ORDERS_PROTO, url: `127.0.0.1:${config.grpcPort}` },
  });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.httpPort, '127.0.0.1');

  const queue = config.redis ? `bullmq on redis 127.0.0.1:${config.redis.port}` : 'in-process';
  if (config.json) {
    const metrics = app.get(MetricsService);
    process.on('exit', (code) => printJson({ exit: { code, at: Date.now() }, counts: metrics.counts }));
    printJson({ ready: { http: config.httpPort, grpc: config.grpcPort, queue } });
  } else {
    console.log(`sample: http://127.0.0.1:${config.httpPort} (GET /orders/1, /health/ready), gRPC 127.0.0.1:${config.grpcPort}, queue: ${queue}. Ctrl-C to stop.`);
  }
}

void bootstrap();

/**
 * The gRPC benchmark's app: a hybrid Nest app (HTTP + gRPC on `test/proto/work.proto`),
 * `enableShutdownHooks()`, and one of three shutdown set-ups (VARIANT):
 * `default` (bare Nest), `graceful` (bare Nest, gRPC `gracefulShutdown: true`) or
 * `quit` (QuitModule.forRoot(), transport phase timeout TRANSPORTS_MS, default 2000).
 * `Slow` takes exactly `ms`; `Forever` streams until cancelled and ignores the quit
 * signal. Prints `ready <grpc port>`.
 */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { interval, map, type Observable } from 'rxjs';
import { QuitModule } from '../../lib/index.js';
import { WORK_PROTO, freePort } from '../../test/src/grpc-proto.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Controller()
class WorkController {
  @GrpcMethod('Work', 'Slow')
  async slow({ id, ms }: { id: number; ms: number }) {
    await sleep(ms);
    return { id, status: 'done' };
  }

  @GrpcMethod('Work', 'Forever')
  forever({ intervalMs }: { intervalMs: number }): Observable<{ n: number }> {
    return interval(intervalMs).pipe(map((n) => ({ n })));
  }
}

const variant = process.env.VARIANT ?? 'default';
const quit = QuitModule.forRoot({ logger: false, phaseTimeouts: { transports: Number(process.env.TRANSPORTS_MS ?? 2000) } });

@Module({ imports: variant === 'quit' ? [quit] : [], controllers: [WorkController] })
class AppModule {}

const grpcPort = await freePort();
const app = await NestFactory.create(AppModule, { logger: false });
app.connectMicroservice<MicroserviceOptions>({
  transport: Transport.GRPC,
  options: { package: 'quittest', protoPath: WORK_PROTO, url: `127.0.0.1:${grpcPort}`, gracefulShutdown: variant === 'graceful' },
});
app.enableShutdownHooks();
await app.startAllMicroservices();
await app.listen(0, '127.0.0.1');
process.stdout.write(`ready ${grpcPort}\n`);

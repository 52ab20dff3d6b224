/**
 * The README's quick start, as written there (the block between the markers is compared
 * with the README by test/grpc-health.e2e-spec.ts), with a gRPC service on `work.proto`.
 * Ports: HTTP and gRPC on free loopback ports. Output: `ready <grpc port>`, `port http <port>`.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { AddressInfo } from 'node:net';
import { WORK_PROTO, freePort } from './grpc-proto.js';

// --- README quick start: app.module.ts ---
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { QuitHealthIndicator, QuitModule } from '../../lib/index.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly quitHealth: QuitHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.quitHealth.isReady()]); // 503 from the first moment of quitting
  }
}

@Module({
  imports: [
    QuitModule.forRoot({
      readinessDelayMs: 3_000, // keep serving while balancers see the 503 (see Readiness below)
      grpcHealth: true, // gRPC apps: grpc.health.v1 answers NOT_SERVING from the first moment of quitting
    }),
    TerminusModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}
// --- end ---

@Controller()
class WorkController {
  @GrpcMethod('Work', 'Slow')
  slow({ id }: { id: number }) {
    return { id, status: 'done' };
  }
}

@Module({ imports: [AppModule], controllers: [WorkController] })
class FixtureModule {}

async function main() {
  const grpcPort = await freePort();
  const app = await NestFactory.create(FixtureModule, { logger: ['error', 'warn'] });
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.GRPC,
    options: { package: 'quittest', protoPath: WORK_PROTO, url: `127.0.0.1:${grpcPort}` },
  });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`port http ${(app.getHttpServer().address() as AddressInfo).port}\n`);
  process.stdout.write(`ready ${grpcPort}\n`);
}

void main();

/**
 * The gRPC service (probe.proto) on the probe's pool: connected to the HTTP app (hybrid
 * mode) or as a standalone microservice. Loaded by main only when GRPC_PORT is set, so
 * that the apps without @nestjs/microservices installed never import it.
 */
import { Controller, type DynamicModule, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, Transport, type GrpcOptions, type MicroserviceOptions } from '@nestjs/microservices';
import { QuitService } from 'nestjs-quit';
import { ev } from './log.js';
import { Pool, untilQuitting } from './probe.module.js';

@Controller()
export class GrpcController {
  constructor(
    private readonly pool: Pool,
    private readonly quit: QuitService,
  ) {}

  @GrpcMethod('Probe', 'Slow')
  async slow({ id, ms }: { id: number; ms: number }): Promise<{ id: number; status: string }> {
    ev('call.start');
    await untilQuitting(this.quit);
    try {
      await this.pool.query(ms);
    } catch (error) {
      ev(`call.failed ${(error as Error).message}`);
      throw error;
    }
    ev('call.end');
    return { id, status: 'done' };
  }
}

const grpcOptions = (port: string, protoPath: string): GrpcOptions => ({
  transport: Transport.GRPC,
  options: { package: 'probe', protoPath, url: `127.0.0.1:${port}` },
});

export function connectGrpc(app: INestApplication, port: string, protoPath: string): void {
  app.connectMicroservice<MicroserviceOptions>(grpcOptions(port, protoPath));
}

export function createStandalone(module: DynamicModule, port: string, protoPath: string): Promise<INestMicroservice> {
  return NestFactory.createMicroservice<MicroserviceOptions>(module, { ...grpcOptions(port, protoPath), logger: ['error', 'warn'] });
}

/**
 * Boots the probe with this consumer's HTTP adapter (`../adapter.ts`). With
 * GRPC_PORT set it is a hybrid app: a gRPC microservice on that port as well; with
 * GRPC_STANDALONE=1 too, a standalone gRPC microservice and no HTTP. QUICK_START=1 (not
 * standalone): the README's quick start (./quick-start/app.module.ts: QuitModule with
 * `grpcHealth: true`, a terminus readiness route at /health/ready) is the app's quit module.
 * Nothing here is about shutting down beyond `enableShutdownHooks()`; POOL_CLOSE=on-quit
 * breaks the app on purpose (its pool closes as soon as quitting begins). LOGGER=json:
 * the app's logger is Nest's `new ConsoleLogger({ json: true })`, every level.
 *
 * Output: `ready <http port>` (standalone: `ready <grpc port>`) once listening, and `ev:` lines.
 */
import 'reflect-metadata';
import { ConsoleLogger, type DynamicModule, type INestApplication, type INestMicroservice, type Type } from '@nestjs/common';
import { QuitService, type QuitEvent } from 'nestjs-quit';
import type { AddressInfo } from 'node:net';
import { createApp } from '../adapter.js';
import { ev } from './log.js';
import { AppModule, Pool, appRef } from './probe.module.js';

/** What ./grpc.ts exports; typed here so that apps without @nestjs/microservices compile without it. */
interface GrpcPart {
  GrpcController: Type<unknown>;
  connectGrpc(app: INestApplication, port: string, protoPath: string): void;
  createStandalone(module: DynamicModule, port: string, protoPath: string): Promise<INestMicroservice>;
}

function describe(event: QuitEvent): string | undefined {
  switch (event.type) {
    case 'phase.started':
      return `phase.${event.phase}`;
    case 'transport.intake-stopped':
      return `intake-stopped ${event.transport}`;
    case 'transport.drained':
      return `drained ${event.transport}${event.forced ? ' forced' : ''}`;
    case 'quit.ended': {
      const { ok, pending, failures } = event.report;
      return `report ${JSON.stringify({ ok, pending, failures: failures.map((f) => f.source) })}`;
    }
    default:
      return undefined;
  }
}

function watch(quit: QuitService): void {
  quit.events$.subscribe((event) => {
    const line = describe(event);
    if (line) ev(line);
  });
  process.on('exit', (code) => ev(`exit ${code}`));
}

async function main(): Promise<void> {
  const grpcPort = process.env['GRPC_PORT'];
  const protoPath = process.env['PROBE_PROTO'] ?? 'probe.proto';
  const grpcFile = './grpc.js';
  const grpc = grpcPort ? ((await import(grpcFile)) as GrpcPart) : undefined;
  if (grpc && grpcPort && process.env['GRPC_STANDALONE'] === '1') {
    const service = await grpc.createStandalone(AppModule.with([grpc.GrpcController]), grpcPort, protoPath);
    service.enableShutdownHooks();
    watch(service.get(QuitService));
    await service.listen();
    process.stdout.write(`ready ${grpcPort}\n`);
    return;
  }
  // Loaded by a variable path, like ./grpc.js: the apps without terminus do not compile it.
  const quickStartFile = './quick-start/app.module.js';
  const quickStart = process.env['QUICK_START'] === '1' ? ((await import(quickStartFile)) as { AppModule: Type<unknown> }).AppModule : undefined;
  const logger = process.env['LOGGER'] === 'json' ? new ConsoleLogger({ json: true }) : undefined;
  const app = await createApp(AppModule.with(grpc ? [grpc.GrpcController] : [], quickStart), logger ? { logger } : {});
  appRef.app = app;
  if (grpc && grpcPort) grpc.connectGrpc(app, grpcPort, protoPath);
  app.enableShutdownHooks();
  watch(app.get(QuitService));
  if (process.env['POOL_CLOSE'] === 'on-quit') {
    // Broken on purpose (nestjs-quit/testing must show the loss): the pool closes the
    // moment quitting begins, under the requests in flight.
    const pool = app.get(Pool);
    app.get(QuitService).signal.addEventListener('abort', () => pool.closeNow());
  }
  if (grpc) await app.startAllMicroservices();
  // PORT when nestjs-quit/testing runs it; any free port otherwise.
  await app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as AddressInfo).port}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(70);
});

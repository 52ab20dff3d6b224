/**
 * A gRPC service on `work.proto` with the quit module, as a hybrid app (HTTP on an
 * ephemeral port, gRPC connected with `connectMicroservice`, and with TCP=1 a TCP
 * microservice too) or as a standalone microservice (`NestFactory.createMicroservice`).
 * Nothing in `main()` is about shutting down beyond `enableShutdownHooks()`.
 *
 * env: MODE=hybrid|standalone; GRACEFUL=1 sets Nest's `gracefulShutdown` on the gRPC
 * server; TCP=1 (hybrid) adds the TCP microservice; CLOSE_AT=<n> makes the fixture call
 * `app.close()` itself once n `Slow` calls have started; QUIT_OPTIONS is JSON merged
 * into the module options; HEALTH_SET=<service>:<status> sets that service's gRPC health
 * status through `QuitGrpcHealth` once the app is up.
 *
 * Output: `ready <grpc port>`, `port http|tcp <port>`, and `ev:` lines.
 */
import 'reflect-metadata';
import { Controller, Get, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, GrpcStreamMethod, MessagePattern, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { AddressInfo } from 'node:net';
import { defer, finalize, fromEvent, interval, map, of, takeUntil, type Observable } from 'rxjs';
import { QuitGrpcHealth, QuitModule, QuitService, type GrpcServingStatus, type QuitModuleOptions } from '../../lib/index.js';
import { WORK_PROTO, freePort } from './grpc-proto.js';
import { ev, sleep } from './log.js';
import { printQuitEvents, untilQuitting } from './rpc-events.js';

let started = 0;
let closeApp: () => Promise<void> = async () => undefined;

const quitting$ = (quit: QuitService) => defer(() => (quit.isQuitting ? of(true) : fromEvent(quit.signal, 'abort')));

@Controller()
class WorkController {
  constructor(private readonly quit: QuitService) {}

  @GrpcMethod('Work', 'Slow')
  async slow({ id, ms, hold }: { id: number; ms: number; hold: boolean }) {
    ev(`call.start ${id}`);
    if (++started === Number(process.env.CLOSE_AT)) setImmediate(() => void closeApp().then(() => ev('closed')));
    if (hold) await untilQuitting(this.quit);
    await sleep(ms);
    return { id, status: 'done' };
  }

  @GrpcMethod('Work', 'Watch')
  watch({ intervalMs }: { intervalMs: number }): Observable<{ n: number }> {
    ev('watch.start');
    return interval(intervalMs).pipe(
      map((n) => ({ n })),
      takeUntil(quitting$(this.quit)),
      finalize(() => ev('watch.end')),
    );
  }

  @GrpcMethod('Work', 'Forever')
  forever({ intervalMs }: { intervalMs: number }): Observable<{ n: number }> {
    ev('forever.start');
    return interval(intervalMs).pipe(
      map((n) => ({ n })),
      finalize(() => ev('forever.end')),
    );
  }

  @GrpcStreamMethod('Work', 'Chat')
  chat(ticks: Observable<{ n: number }>): Observable<{ n: number }> {
    ev('chat.start');
    return ticks.pipe(
      takeUntil(quitting$(this.quit)),
      finalize(() => ev('chat.end')),
    );
  }

  /** HTTP, in the hybrid app: held until quitting begins, then `ms` more. */
  @Get('slow')
  async httpSlow(@Query('ms') ms = '200'): Promise<string> {
    ev('http.start');
    await untilQuitting(this.quit);
    await sleep(Number(ms));
    return 'done';
  }

  /** TCP, in the hybrid app with TCP=1: held until quitting begins, then `ms` more. */
  @MessagePattern('slow')
  async tcpSlow(ms: number): Promise<string> {
    ev('tcp.start');
    await untilQuitting(this.quit);
    await sleep(ms);
    return 'done';
  }
}

const options: QuitModuleOptions = { timeoutMs: 10_000, logger: false, ...JSON.parse(process.env.QUIT_OPTIONS ?? '{}') };

@Module({ imports: [QuitModule.forRoot(options)], controllers: [WorkController] })
class AppModule {}

async function main() {
  // grpc-js does not tell Nest which port it bound, so the port is chosen first.
  const grpcPort = await freePort();
  const grpc: MicroserviceOptions = {
    transport: Transport.GRPC,
    options: {
      package: 'quittest',
      protoPath: WORK_PROTO,
      url: `127.0.0.1:${grpcPort}`,
      ...(process.env.GRACEFUL === '1' ? { gracefulShutdown: true } : {}),
    },
  };
  if (process.env.MODE === 'standalone') {
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, { ...grpc, logger: ['error', 'warn'] });
    app.enableShutdownHooks();
    printQuitEvents(app.get(QuitService));
    closeApp = () => app.close();
    setHealth = (service, status) => app.get(QuitGrpcHealth).setStatus(service, status);
    await app.listen();
  } else {
    const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    app.connectMicroservice(grpc);
    const tcp =
      process.env.TCP === '1' ? app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } }) : undefined;
    app.enableShutdownHooks();
    printQuitEvents(app.get(QuitService));
    closeApp = () => app.close();
    setHealth = (service, status) => app.get(QuitGrpcHealth).setStatus(service, status);
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    process.stdout.write(`port http ${(app.getHttpServer().address() as AddressInfo).port}\n`);
    if (tcp) process.stdout.write(`port tcp ${(tcp.unwrap<import('node:net').Server>().address() as AddressInfo).port}\n`);
  }
  if (process.env.HEALTH_SET) {
    const [service, status] = process.env.HEALTH_SET.split(':');
    setHealth(service!, status as GrpcServingStatus);
  }
  process.stdout.write(`ready ${grpcPort}\n`);
}

let setHealth: (service: string, status: GrpcServingStatus) => void = () => undefined;

void main();

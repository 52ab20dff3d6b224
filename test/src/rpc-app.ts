/**
 * Nest's other microservice transports with the quit module: a hybrid app (HTTP on an
 * ephemeral port) with a TCP microservice (TCP=1) and/or a Redis one (REDIS_PORT=<port>
 * of a running redis-server), and a ClientProxy to "another service" (DOWNSTREAM_PORT,
 * see rpc-downstream.ts). Nothing in `main()` is about shutting down beyond
 * `enableShutdownHooks()`.
 *
 * Output: `ready <http port>`, `port tcp <port>`, and `ev:` lines.
 */
import 'reflect-metadata';
import { Controller, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, MessagePattern, Transport, type ClientProxy } from '@nestjs/microservices';
import type { AddressInfo, Server } from 'node:net';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import { OnQuit, QuitModule, QuitService, type QuitModuleOptions } from '../../lib/index.js';
import { ev, sleep } from './log.js';
import { printQuitEvents, untilQuitting } from './rpc-events.js';


@Controller()
class RpcController {
  constructor(
    private readonly quit: QuitService,
    @Inject('DOWNSTREAM') private readonly downstream: ClientProxy,
  ) {}

  /** Held until quitting begins, then `ms` more: in flight at the signal by construction. */
  @MessagePattern('slow')
  async slow({ id, ms }: { id: number; ms: number }): Promise<{ id: number }> {
    ev(`msg.start ${id}`);
    await untilQuitting(this.quit);
    await sleep(ms);
    return { id };
  }

  /** Held until TCP intake has stopped, then asks the downstream service: an outbound call made during the drain. */
  @MessagePattern('relay')
  async relay(n: number): Promise<number> {
    const intakeStopped = firstValueFrom(
      this.quit.events$.pipe(filter((e) => e.type === 'transport.intake-stopped' && e.transport === 'tcp')),
    );
    ev('relay.start');
    await intakeStopped;
    const doubled = await lastValueFrom(this.downstream.send<number>('double', n));
    ev(`relay.end ${doubled}`);
    return doubled;
  }

  /** A quit hook, after the drain: the outbound client still works (Nest closes it in `dispose()`, later). */
  @OnQuit()
  async lastWord(): Promise<void> {
    if (process.env.DOWNSTREAM_PORT) ev(`hook.relay ${await lastValueFrom(this.downstream.send<number>('double', 5))}`);
  }
}

const options: QuitModuleOptions = { timeoutMs: 10_000, logger: false, ...JSON.parse(process.env.QUIT_OPTIONS ?? '{}') };

@Module({
  imports: [
    QuitModule.forRoot(options),
    ClientsModule.register([
      { name: 'DOWNSTREAM', transport: Transport.TCP, options: { host: '127.0.0.1', port: Number(process.env.DOWNSTREAM_PORT ?? 1) } },
    ]),
  ],
  controllers: [RpcController],
})
class AppModule {}

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  const tcp =
    process.env.TCP === '1' ? app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } }) : undefined;
  if (process.env.REDIS_PORT) {
    app.connectMicroservice({ transport: Transport.REDIS, options: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT) } });
  }
  app.enableShutdownHooks();
  printQuitEvents(app.get(QuitService));
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  if (tcp) process.stdout.write(`port tcp ${(tcp.unwrap<Server>().address() as AddressInfo).port}\n`);
  process.stdout.write(`ready ${(app.getHttpServer().address() as AddressInfo).port}\n`);
}

void main();

/**
 * The shape of NestJS's `03-microservices` sample: a hybrid app (HTTP + a TCP
 * microservice) whose HTTP route calls its own TCP microservice through a `ClientProxy`,
 * while outside clients pipeline TCP requests on open connections. Nothing about shutting
 * down beyond `enableShutdownHooks()`.
 *
 * Env: TCP_PORT (the microservice's port, which its own client dials). Routes:
 * `GET /sum/:id?ms=` (calls `sum` on itself, waits until TCP intake has stopped, calls it again).
 * Output: `ready <http port>`, `ev:sum.start <id>`, `ev:sum.end <id>`, `ev:http.end <id>`,
 * `ev:fail <id> <error>` and the quit events.
 */
import 'reflect-metadata';
import { Controller, Get, Inject, Module, Param, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, MessagePattern, Payload, Transport, type ClientProxy } from '@nestjs/microservices';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import { QuitModule, QuitService } from '../../lib/index.js';
import { ev } from './log.js';
import { Pool } from './pool.js';
import { printQuitEvents } from './rpc-events.js';

const tcpPort = Number(process.env.TCP_PORT);

@Controller()
class MathController {
  constructor(
    private readonly pool: Pool,
    private readonly quit: QuitService,
    @Inject('MATH') private readonly client: ClientProxy,
  ) {}

  /** The HTTP route of the sample: it asks the app's own TCP microservice. */
  @Get('sum/:id')
  async sumOverHttp(@Param('id') id: string, @Query('ms') ms: string): Promise<number> {
    // One call before the signal (an app under load has its connection to itself open)…
    await lastValueFrom(this.client.send<number>('sum', { id: `${id}-before`, ms: 1, values: [] }));
    // …and one while the TCP transport drains, through that open connection.
    await firstValueFrom(this.quit.events$.pipe(filter((e) => e.type === 'transport.intake-stopped' && e.transport === 'tcp')));
    const sum = await lastValueFrom(this.client.send<number>('sum', { id, ms: Number(ms), values: [1, 2, 3] }));
    ev(`http.end ${id}`);
    return sum;
  }

  @MessagePattern('sum')
  async sum(@Payload() data: unknown): Promise<number> {
    const { id, ms, values } = data as { id: string; ms: number; values: number[] };
    ev(`sum.start ${id}`);
    try {
      await this.pool.query(ms);
    } catch (error) {
      ev(`fail ${id} ${(error as Error).message}`);
      throw error;
    }
    ev(`sum.end ${id}`);
    return values.reduce((a, b) => a + b, 0);
  }
}

@Module({
  imports: [
    QuitModule.forRoot({ timeoutMs: 10_000, logger: false }),
    ClientsModule.register([{ name: 'MATH', transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } }]),
  ],
  controllers: [MathController],
  providers: [Pool],
})
class AppModule {}

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } });
  app.enableShutdownHooks();
  printQuitEvents(app.get(QuitService));
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as AddressInfo).port}\n`);
}

void main();

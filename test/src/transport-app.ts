/**
 * One replica of a standalone Nest microservice on one transport (TRANSPORT = tcp, redis,
 * nats, mqtt, rmq, rmq-ack), as a new user would write it: a request handler (`work`) and
 * an event handler (`note`) that each take `ms` and then use a pool closed in
 * `onModuleDestroy`; `enableShutdownHooks()`; nothing else about shutting down. With
 * BARE=1 the quit module is left out (Nest alone, for the benchmark).
 *
 * Env: BROKER_PORT (the broker's, or for tcp the port to listen on), REPLICA (its name in
 * replies), QUEUE (RabbitMQ queue / NATS queue group / MQTT share group), QUIT_OPTIONS (JSON),
 * BUSY_AT_SIGTERM_MS.
 * Output: `ready <port>`, then `ev:` lines: `req.start <id>`, `req.end <id>`,
 * `evt.start <id>`, `evt.end <id>`, `fail <id> <error>`, the quit events, `exit <code>`.
 */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Ctx,
  EventPattern,
  MessagePattern,
  Payload,
  RmqContext,
  Transport,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import type { AddressInfo, Server } from 'node:net';
import { QuitModule, QuitService } from '../../lib/index.js';
import { ev } from './log.js';
import { Pool } from './pool.js';
import { printQuitEvents } from './rpc-events.js';

const transport = process.env.TRANSPORT ?? 'tcp';
const port = Number(process.env.BROKER_PORT ?? 0);
const replica = process.env.REPLICA ?? 'a';
const group = process.env.QUEUE ?? 'quit-work';
const bare = process.env.BARE === '1';
const manualAck = transport === 'rmq-ack';
// MQTT: a shared subscription, so that each message goes to one replica (as a NATS queue group or a RabbitMQ queue does).
const topic = (name: string) => (transport === 'mqtt' ? `$share/${group}/${name}` : name);

interface Job {
  id: string;
  ms: number;
}

@Controller()
class WorkController {
  constructor(private readonly pool: Pool) {}

  @MessagePattern(topic('work'))
  async work(@Payload() data: unknown, @Ctx() ctx: unknown): Promise<{ id: string; by: string }> {
    const job = data as Job;
    await this.run('req', job, ctx);
    return { id: job.id, by: replica };
  }

  @EventPattern(topic('note'))
  async note(@Payload() data: unknown, @Ctx() ctx: unknown): Promise<void> {
    await this.run('evt', data as Job, ctx);
  }

  private async run(kind: string, job: Job, ctx: unknown): Promise<void> {
    ev(`${kind}.start ${job.id}`);
    try {
      await this.pool.query(job.ms);
      ev(`${kind}.end ${job.id}`);
    } catch (error) {
      ev(`fail ${job.id} ${(error as Error).message}`);
      throw error;
    } finally {
      if (manualAck && ctx instanceof RmqContext) {
        const channel = ctx.getChannelRef() as { ack(message: unknown): void };
        channel.ack(ctx.getMessage());
      }
    }
  }
}

function options(): MicroserviceOptions {
  const host = '127.0.0.1';
  switch (transport) {
    case 'tcp':
      return { transport: Transport.TCP, options: { host, port } };
    case 'redis':
      return { transport: Transport.REDIS, options: { host, port } };
    case 'nats':
      return { transport: Transport.NATS, options: { servers: [`nats://${host}:${port}`], queue: group } };
    case 'mqtt':
      return { transport: Transport.MQTT, options: { url: `mqtt://${host}:${port}` } };
    case 'rmq':
    case 'rmq-ack':
      return {
        transport: Transport.RMQ,
        options: { urls: [`amqp://guest:guest@${host}:${port}`], queue: group, noAck: !manualAck, prefetchCount: manualAck ? 20 : 0 },
      };
    default:
      throw new Error(`TRANSPORT=${transport}: expected tcp, redis, nats, mqtt, rmq or rmq-ack`);
  }
}

@Module({
  imports: bare ? [] : [QuitModule.forRoot({ timeoutMs: 10_000, logger: false, ...JSON.parse(process.env.QUIT_OPTIONS ?? '{}') })],
  controllers: [WorkController],
  providers: [Pool],
})
class AppModule {}

/**
 * A process busy when the signal comes (BUSY_AT_SIGTERM_MS): the broker keeps sending
 * meanwhile, so the drain starts with messages already in the socket, not yet read — the
 * ones an intake stop must not drop.
 */
function busyAtSigterm(): void {
  const ms = Number(process.env.BUSY_AT_SIGTERM_MS ?? 0);
  if (!ms) return;
  process.once('SIGTERM', () => {
    const until = Date.now() + ms;
    while (Date.now() < until);
  });
}

async function main() {
  busyAtSigterm();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, { ...options(), logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  if (!bare) printQuitEvents(app.get(QuitService));
  else process.on('exit', (code) => ev(`exit ${code}`));
  await app.listen();
  const listening = transport === 'tcp' ? (app.unwrap<Server>().address() as AddressInfo).port : port;
  process.stdout.write(`ready ${listening}\n`);
}

void main();

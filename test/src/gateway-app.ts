/**
 * A gateway app for the gateway drain tests. KIND=ws (`@nestjs/platform-ws`), io
 * (Socket.IO, Nest's default adapter) or gql (Apollo, graphql-ws subscriptions);
 * PLATFORM=express|fastify; GATEWAY_PORT=<n> puts the ws/io gateway on a port of its own
 * (else it shares the HTTP server). Its `work` handler takes HANDLER_MS (300) and then
 * uses a pool closed in `onModuleDestroy`: a handler cut by the shutdown fails. Each
 * handler prints `ev:start <id>` and `ev:end <id>`. The gateway has no @WebSocketServer()
 * property and nothing in main.ts knows about the drain.
 */
import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { QuitModule, QuitService, type QuitModuleOptions } from '../../lib/index.js';
import { ev, sleep } from './log.js';
import { Pool } from './pool.js';

const KIND = process.env.KIND ?? 'ws';
const HANDLER_MS = Number(process.env.HANDLER_MS ?? 300);
const GATEWAY_PORT = Number(process.env.GATEWAY_PORT ?? 0);

async function work(pool: Pool, id: string): Promise<string> {
  ev(`start ${id}`);
  await pool.query(HANDLER_MS);
  ev(`end ${id}`);
  return id;
}

@WebSocketGateway(GATEWAY_PORT)
class WorkGateway {
  constructor(private readonly pool: Pool) {}

  /** ws: answered with a `done` event; Socket.IO: answered with the ack. */
  @SubscribeMessage('work')
  async work(@MessageBody() id: string) {
    const done = await work(this.pool, id);
    return KIND === 'ws' ? { event: 'done', data: done } : done;
  }
}

async function graphqlModule() {
  const { GraphQLModule, Resolver, Query, Subscription, Args } = await import('@nestjs/graphql');
  const { ApolloDriver } = await import('@nestjs/apollo');

  @Resolver()
  class WorkResolver {
    constructor(private readonly pool: Pool) {}

    @Query(() => String)
    work(@Args('id') id: string): Promise<string> {
      return work(this.pool, id);
    }

    /** An endless stream of ticks. */
    @Subscription(() => Number)
    ticks() {
      return (async function* () {
        for (let n = 0; ; n++) {
          await sleep(50);
          yield { ticks: n };
        }
      })();
    }
  }

  @Module({
    imports: [GraphQLModule.forRoot({ driver: ApolloDriver, autoSchemaFile: true, subscriptions: { 'graphql-ws': true } })],
    providers: [WorkResolver, Pool],
  })
  class GqlModule {}
  return GqlModule;
}

async function main() {
  const quitOptions = { timeoutMs: 8_000, ...(JSON.parse(process.env.QUIT_OPTIONS ?? '{}') as QuitModuleOptions) };
  const feature =
    KIND === 'gql'
      ? await graphqlModule()
      : (() => {
          @Module({ providers: [WorkGateway, Pool] })
          class GatewayModule {}
          return GatewayModule;
        })();

  @Module({ imports: [QuitModule.forRoot(quitOptions), feature] })
  class AppModule {}

  const logger = ['error', 'warn'] as ('error' | 'warn')[];
  const app: INestApplication =
    process.env.PLATFORM === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger }) : await NestFactory.create(AppModule, { logger });
  if (KIND === 'ws') app.useWebSocketAdapter(new WsAdapter(app));
  app.enableShutdownHooks();
  app.get(QuitService).events$.subscribe((e) => {
    if (e.type === 'quit.started') ev('quit');
    if (e.type === 'transport.drained') ev(`drained ${e.name}${e.forced ? ' forced' : ''}`);
    if (e.type === 'quit.ended') ev(`report ${JSON.stringify({ ok: e.report.ok, pending: e.report.pending })}`);
  });
  process.on('exit', (code) => ev(`exit ${code}`));
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();

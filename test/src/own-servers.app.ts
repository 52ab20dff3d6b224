/**
 * An app with servers it made itself, each handed to `quit.onQuit(server)` (Go's
 * `RegisterQuitCloser(srv)`), next to the Nest HTTP server:
 *
 * - a Prometheus-style metrics `http.Server`, registered in a provider's constructor,
 *   before it listens;
 * - an `http2` secure server, registered after it listens;
 * - a grpc-js `Server` (`work.proto`'s `Slow`), registered before `bindAsync`;
 * - a plain closer and a function (quit hooks, as before), one hook and one server
 *   registered and then unregistered.
 *
 * Every handler goes through a pool closed in `onModuleDestroy`: a request it took after
 * that would fail. Ports come from the environment (PORT, METRICS_PORT, H2_PORT,
 * GRPC_PORT), as `nestjs-quit/testing` gives them; TLS_KEY / TLS_CERT are file paths.
 * At the end of the pipeline it prints `ev:served <server> <started> <completed> <failed>`
 * per server, and `ev:` lines for the hooks.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Controller, Get, Injectable, Module, Query, type OnApplicationBootstrap } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { QuitModule, QuitService } from '../../lib/index.js';
import { WORK_PROTO } from './grpc-proto.js';
import { ev } from './log.js';
import { Pool } from './pool.js';

type Counts = { started: number; completed: number; failed: number };
const counts: Record<string, Counts> = {};
const count = (server: string) => (counts[server] ??= { started: 0, completed: 0, failed: 0 });

/** Runs one unit of work through the pool, counted under `server`; resolves with whether it succeeded. */
async function serve(server: string, pool: Pool, ms: number): Promise<boolean> {
  const c = count(server);
  c.started++;
  try {
    await pool.query(ms);
    c.completed++;
    return true;
  } catch {
    c.failed++;
    return false;
  }
}

const msOf = (url = '') => Number(new URL(url, 'http://x').searchParams.get('ms') ?? 50);

@Injectable()
class Metrics implements OnApplicationBootstrap {
  readonly server: http.Server;

  constructor(quit: QuitService, pool: Pool) {
    this.server = http.createServer((req, res) => {
      void serve('metrics', pool, msOf(req.url)).then((ok) => {
        res.statusCode = ok ? 200 : 500;
        res.end(ok ? 'done' : 'failed');
      });
    });
    // Handed over before it listens, as a provider would.
    quit.onQuit(this.server);
  }

  onApplicationBootstrap(): Promise<void> {
    return new Promise((resolve) => this.server.listen(Number(process.env.METRICS_PORT), '127.0.0.1', resolve));
  }
}

@Controller()
class AppController {
  constructor(private readonly pool: Pool) {}

  @Get('slow')
  async slow(@Query('ms') ms = '50'): Promise<string> {
    if (!(await serve('nest', this.pool, Number(ms)))) throw new Error('pool closed');
    return 'done';
  }
}

@Module({ imports: [QuitModule.forRoot({ timeoutMs: 8_000 })], controllers: [AppController], providers: [Pool, Metrics] })
class AppModule {}

function grpcServer(pool: Pool): grpc.Server {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(WORK_PROTO)) as any;
  const server = new grpc.Server();
  server.addService(pkg.quittest.Work.service, {
    Slow: (call: grpc.ServerUnaryCall<{ id: number; ms: number }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void serve('grpc', pool, call.request.ms).then((ok) =>
        ok ? callback(null, { id: call.request.id, status: 'done' }) : callback({ code: grpc.status.INTERNAL, details: 'pool closed' }),
      );
    },
  });
  return server;
}

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  const quit = app.get(QuitService);
  const pool = app.get(Pool);

  const tls = { key: readFileSync(process.env.TLS_KEY!), cert: readFileSync(process.env.TLS_CERT!) };
  const h2 = http2.createSecureServer(tls, (req, res) => {
    void serve('h2', pool, msOf(req.url)).then((ok) => {
      res.statusCode = ok ? 200 : 500;
      res.end(ok ? 'done' : 'failed');
    });
  });
  await new Promise<void>((resolve) => h2.listen(Number(process.env.H2_PORT), '127.0.0.1', resolve));
  // Handed over once it listens.
  quit.onQuit(h2);

  const rpc = grpcServer(pool);
  quit.onQuit(rpc);
  await new Promise<void>((resolve, reject) =>
    rpc.bindAsync(`127.0.0.1:${process.env.GRPC_PORT}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );

  // Hooks, as before: a closer and a function; one of each kind registered, then taken back.
  quit.onQuit({ close: () => ev('hook closer') });
  quit.onQuit(function flush() {
    ev('hook flush');
  });
  quit.onQuit(() => ev('hook removed'))();
  quit.onQuit(http.createServer(), { name: 'removed-server' })();

  quit.events$.subscribe((e) => {
    if (e.type !== 'quit.ended') return;
    for (const [server, c] of Object.entries(counts)) ev(`served ${server} ${c.started} ${c.completed} ${c.failed}`);
  });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

void main();

/**
 * The load probe: `GET /slow?ms=` takes `ms` through a pool closed in `onModuleDestroy`;
 * `GET /held` waits until quitting begins, then 300 ms more through the pool (so it is in
 * flight at the signal by construction). It reports its own counts as `ev:` lines.
 *
 * env: PLATFORM=express|fastify, PROTO=http|https|h2 (h2: Fastify only), TLS_KEY and
 * TLS_CERT (paths) for https/h2, LOADED=<n> prints `ev:loaded` once n requests were
 * served and every connection has one in flight, QUIT_OPTIONS (JSON).
 */
import 'reflect-metadata';
import { Controller, Get, Module, Query, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { readFileSync } from 'node:fs';
import { QuitModule, QuitService, type QuitModuleOptions } from '../../lib/index.js';
import { ev } from './log.js';
import { Pool } from './pool.js';

const counts = { started: 0, completed: 0, failed: 0, inFlight: 0, held: 0, slowInFlight: 0 };
const loadedAt = Number(process.env.LOADED ?? 0);
const connections = Number(process.env.CONNS ?? 0);
let loaded = false;

const untilQuitting = (quit: QuitService) =>
  new Promise<void>((resolve) => (quit.isQuitting ? resolve() : quit.signal.addEventListener('abort', () => resolve())));

@Controller()
class LoadController {
  constructor(
    private readonly pool: Pool,
    private readonly quit: QuitService,
  ) {}

  @Get('slow')
  async slow(@Query('ms') ms = '300'): Promise<string> {
    counts.slowInFlight++;
    if (!loaded && loadedAt > 0 && counts.completed >= loadedAt && counts.slowInFlight >= connections) {
      loaded = true;
      ev('loaded');
    }
    return this.serve(() => this.pool.query(Number(ms))).finally(() => counts.slowInFlight--);
  }

  @Get('held')
  async held(): Promise<string> {
    return this.serve(async () => {
      ev(`held ${++counts.held}`);
      await untilQuitting(this.quit);
      await this.pool.query(300);
    });
  }

  private async serve(work: () => Promise<unknown>): Promise<string> {
    counts.started++;
    counts.inFlight++;
    try {
      await work();
      counts.completed++;
      return 'done';
    } catch (error) {
      counts.failed++;
      throw error;
    } finally {
      counts.inFlight--;
    }
  }
}

@Module({
  imports: [QuitModule.forRoot({ timeoutMs: 8_000, ...(JSON.parse(process.env.QUIT_OPTIONS ?? '{}') as QuitModuleOptions) })],
  controllers: [LoadController],
  providers: [Pool],
})
class LoadModule {}

async function create(): Promise<INestApplication> {
  const proto = process.env.PROTO ?? 'http';
  const tls = proto === 'http' ? undefined : { key: readFileSync(process.env.TLS_KEY!), cert: readFileSync(process.env.TLS_CERT!) };
  const logger = ['error', 'warn'] as const;
  if (process.env.PLATFORM === 'fastify') {
    const adapter = proto === 'h2' ? new FastifyAdapter({ http2: true, https: tls! }) : new FastifyAdapter(tls ? { https: tls } : {});
    return NestFactory.create(LoadModule, adapter, { logger: [...logger] });
  }
  if (proto === 'h2') throw new Error('the Express adapter has no HTTP/2 option');
  return NestFactory.create(LoadModule, { logger: [...logger], httpsOptions: tls });
}

async function main() {
  const app = await create();
  app.enableShutdownHooks();
  app.get(QuitService).events$.subscribe((e) => {
    if (e.type === 'phase.started' && e.phase === 'fire') ev(`in-flight-at-fire ${counts.inFlight}`);
    if (e.type === 'transport.intake-stopped') ev('intake-stopped');
    if (e.type !== 'quit.ended') return;
    // The drain is over: the counts are final. (A process that dies of the re-raised
    // signal emits no 'exit' event.)
    ev(`served ${counts.started} ${counts.completed} ${counts.failed}`);
    ev(`report ${JSON.stringify({ ok: e.report.ok, pending: e.report.pending })}`);
  });
  // PORT when nestjs-quit/testing runs it; any free port otherwise.
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();

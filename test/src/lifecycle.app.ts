/**
 * The order probe: a request and a tracked worker in flight at shutdown, a pool closed
 * in `onModuleDestroy`, an `@OnQuit()` hook. Shutdown is started by a signal from the
 * test, by `GET /close` (app.close()) or by `GET /quit` (quit.quit()).
 *
 * env: HOOK=hang|throw|late-reject adds a misbehaving hook (timeout HOOK_TIMEOUT_MS, 300 ms); QUIT_OPTIONS is JSON merged
 * into the module options.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query, type INestApplication, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OnQuit, QuitModule, QuitService, TrackedWorker, type QuitModuleOptions } from '../../lib/index.js';
import { ev, sleep } from './log.js';
import { Pool } from './pool.js';

let app: INestApplication;

const untilQuitting = (quit: QuitService) =>
  new Promise<void>((resolve) => (quit.isQuitting ? resolve() : quit.signal.addEventListener('abort', () => resolve())));

/**
 * Resolves when the workers phase starts: a worker held until then provably ends inside
 * that phase, after the transports phase, however slow the machine.
 */
let workersPhase: Promise<void> | undefined;
const untilWorkersPhase = (quit: QuitService) =>
  (workersPhase ??= new Promise<void>((resolve) => {
    const sub = quit.events$.subscribe((e) => {
      if (e.type === 'phase.started' && e.phase === 'workers') {
        sub.unsubscribe();
        resolve();
      }
    });
  }));

@Injectable()
class Jobs {
  constructor(
    private readonly pool: Pool,
    private readonly quit: QuitService,
  ) {}

  @TrackedWorker()
  async run(ms: number): Promise<void> {
    ev('worker.start');
    try {
      await untilWorkersPhase(this.quit);
      if (ms < 0) await new Promise(() => undefined); // a worker that never finishes
      await this.pool.query(ms);
      ev('worker.end');
    } catch (error) {
      ev(`worker.failed ${(error as Error).message}`);
    }
  }
}

/** With BOOT_DELAY_MS, bootstrap takes that long (a slow connection at start-up). */
@Injectable()
class SlowBoot {
  async onApplicationBootstrap(): Promise<void> {
    const ms = Number(process.env.BOOT_DELAY_MS ?? 0);
    if (!ms) return;
    ev('booting');
    await sleep(ms);
    ev('booted');
  }
}

@Injectable()
class Hooks implements OnModuleDestroy {
  @OnQuit({ order: 1 })
  flush(): void {
    ev('hook.flush');
  }

  @OnQuit({ order: 0, timeoutMs: Number(process.env.HOOK_TIMEOUT_MS ?? 300) })
  async misbehave(): Promise<void> {
    const mode = process.env.HOOK;
    if (!mode) return;
    ev(`hook.${mode}`);
    if (mode === 'throw') throw new Error('hook exploded');
    if (mode === 'hang') await new Promise(() => undefined);
    if (mode === 'late-reject') {
      await sleep(600);
      throw new Error('rejected after its timeout');
    }
  }

  onModuleDestroy(): void {
    ev('hooks.destroy');
  }
}

@Controller()
class AppController {
  constructor(
    private readonly pool: Pool,
    private readonly jobs: Jobs,
    private readonly quit: QuitService,
  ) {}

  /** Held until quitting begins, then `ms` more: in flight at the shutdown by construction. */
  @Get('slow')
  async slow(@Query('ms') ms = '300', @Query('fail') fail?: string): Promise<string> {
    ev('request.start');
    await untilQuitting(this.quit);
    await this.pool.query(Number(ms));
    if (fail) {
      ev('request.throw');
      throw new Error('handler failed while shutting down');
    }
    ev('request.end');
    return 'done';
  }

  @Get('work')
  work(@Query('ms') ms = '400'): string {
    void this.jobs.run(Number(ms));
    return 'started';
  }

  /** `app.close()` as a script or test would call it; `then=exit` exits 0 afterwards. */
  @Get('close')
  close(@Query('then') then?: string): string {
    setImmediate(() =>
      void app.close().then(() => {
        ev('closed');
        if (then === 'exit') process.exit(0);
      }),
    );
    return 'closing';
  }

  /** quit(), app.close() and a real SIGTERM, all in one tick: one pipeline must run. */
  @Get('race')
  race(): string {
    setImmediate(() => {
      void this.quit.quit('race');
      void app.close();
      process.kill(process.pid, 'SIGTERM');
    });
    return 'racing';
  }

  @Get('quit')
  quitNow(): string {
    setImmediate(() => void this.quit.quit('requested'));
    return 'quitting';
  }
}

const options: QuitModuleOptions = { timeoutMs: 5_000, ...JSON.parse(process.env.QUIT_OPTIONS ?? '{}') };

@Module({
  imports: [QuitModule.forRoot(options)],
  controllers: [AppController],
  providers: [Pool, Jobs, Hooks, SlowBoot],
})
class AppModule {}

async function main() {
  app = await NestFactory.create(AppModule, { logger: ['error', 'warn', 'log'] });
  if (process.env.NO_HOOKS !== '1') app.enableShutdownHooks();
  const quit = app.get(QuitService);
  quit.events$.subscribe((e) => {
    if (e.type === 'quit.started') ev(`quit.started ${e.trigger}${e.signal ? ` ${e.signal}` : ''}`);
    if (e.type === 'phase.started') ev(`phase.${e.phase}`);
    if (e.type === 'quit.ended') ev(`report ${JSON.stringify({ ok: e.report.ok, pending: e.report.pending, failures: e.report.failures.map((f) => f.source) })}`);
  });
  process.on('exit', (code) => ev(`exit ${code}`));
  await app.listen(0, '127.0.0.1');
  ev('listening');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();

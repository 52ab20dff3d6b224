/**
 * The order probe: a request and a tracked worker in flight at shutdown, a pool closed
 * in `onModuleDestroy`, an `@OnQuit()` hook. Shutdown is started by a signal from the
 * test, by `GET /close` (app.close()) or by `GET /quit` (quit.quit()).
 *
 * env: HOOK=hang|throw|late-reject|block|exit adds a misbehaving hook (timeout HOOK_TIMEOUT_MS, 300 ms; `block`
 * blocks the event loop BLOCK_MS, `exit` calls process.exit(0)); QUIT_OPTIONS is JSON merged into the module
 * options; POOL_DESTROY=hang makes the pool's onModuleDestroy hang; BOOT_DELAY_MS / INIT_DELAY_MS make
 * onApplicationBootstrap / onModuleInit that slow; INIT_WORKER_MS starts a tracked worker run of that length
 * from an onModuleInit; TWICE=1 imports QuitModule.forRoot() a second time, in OtherModule.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query, type INestApplication, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OnQuit, QuitModule, QuitService, TrackedWorker, type QuitModuleOptions } from '../../lib/index.js';
import { describeEvent, untilPhase, untilQuitting } from '../helpers/quit.js';
import { ev, sleep } from './log.js';
import { Pool } from './pool.js';

let app: INestApplication;

/**
 * Resolves when the workers phase starts: a worker held until then provably ends inside
 * that phase, after the transports phase, however slow the machine.
 */
let workersPhase: Promise<unknown> | undefined;
const untilWorkersPhase = (quit: QuitService) => (workersPhase ??= untilPhase(quit, 'workers'));

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

  /** A consumer loop's run, started from an onModuleInit: it must be waited for like any other. */
  @TrackedWorker()
  async fromInit(ms: number): Promise<void> {
    ev('initworker.start');
    try {
      // In flight at the shutdown by construction, and ending inside the workers phase
      // (after the transports), however slow the machine.
      await untilWorkersPhase(this.quit);
      await sleep(ms);
      await this.pool.query(10);
      ev('initworker.end');
    } catch (error) {
      ev(`initworker.failed ${(error as Error).message}`);
    }
  }
}

/** With INIT_DELAY_MS, onModuleInit takes that long; with INIT_WORKER_MS, it starts a tracked run. */
@Injectable()
class SlowInit {
  constructor(private readonly jobs: Jobs) {}

  async onModuleInit(): Promise<void> {
    const worker = Number(process.env.INIT_WORKER_MS ?? 0);
    if (worker) void this.jobs.fromInit(worker);
    const ms = Number(process.env.INIT_DELAY_MS ?? 0);
    if (!ms) return;
    ev('init.start');
    await sleep(ms);
    ev('init.end');
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
    if (mode === 'block') {
      const until = Date.now() + Number(process.env.BLOCK_MS ?? 1_500);
      while (Date.now() < until) {
        // busy: the event loop is blocked, no timer can fire
      }
      ev('hook.unblocked');
    }
    if (mode === 'exit') process.exit(0);
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
  async slow(@Query('ms') ms = '300', @Query('fail') fail?: string, @Query('crash') crash?: string): Promise<string> {
    ev('request.start');
    await untilQuitting(this.quit);
    // An error nobody catches, thrown beside the request while it is being drained.
    if (crash) setTimeout(() => crashNow(crash), 20);
    await this.pool.query(Number(ms));
    if (fail) {
      ev('request.throw');
      throw new Error('handler failed while shutting down');
    }
    ev('request.end');
    return 'done';
  }

  /** An error nobody catches while serving normally (`kind=throw|reject`). */
  @Get('crash')
  crash(@Query('kind') kind = 'throw'): string {
    setTimeout(() => crashNow(kind), 20);
    return 'crashing';
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

function crashNow(kind: string): void {
  ev(`crash.${kind}`);
  if (kind === 'reject') void Promise.reject(new Error('rejected, never caught'));
  else throw new Error('thrown, never caught');
}

const options: QuitModuleOptions = { timeoutMs: 5_000, ...JSON.parse(process.env.QUIT_OPTIONS ?? '{}') };

/** A feature module that imports the QuitModule too (TWICE=1): a common mistake. */
@Module({ imports: [QuitModule.forRoot(options)] })
class OtherModule {}

@Module({
  imports: [QuitModule.forRoot(options), ...(process.env.TWICE === '1' ? [OtherModule] : [])],
  controllers: [AppController],
  providers: [Pool, Jobs, Hooks, SlowBoot, SlowInit],
})
class AppModule {}

async function main() {
  app = await NestFactory.create(AppModule, { logger: ['error', 'warn', 'log'] });
  if (process.env.NO_HOOKS !== '1') app.enableShutdownHooks();
  const quit = app.get(QuitService);
  quit.events$.subscribe((e) => {
    if (e.type === 'quit.started') ev(`quit.started ${e.trigger}${e.signal ? ` ${e.signal}` : ''}`);
    if (e.type === 'phase.started') ev(`phase.${e.phase}`);
    if (e.type === 'quit.ended' || e.type === 'quit.forced') ev(describeEvent(e));
  });
  // The code the process really exits with: an 'exit' listener may have changed it.
  process.on('exit', (code) => ev(`exit ${process.exitCode ?? code}`));
  await app.listen(0, '127.0.0.1');
  ev('listening');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();

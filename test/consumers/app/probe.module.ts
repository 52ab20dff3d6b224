/**
 * The order probe, as a consumer of the published package writes it: a request and a
 * tracked worker (and, in hybrid mode, a gRPC call: ./grpc.ts) in flight at shutdown, a
 * pool closed in `onModuleDestroy`, an `@OnQuit()` hook. Each handler is held until
 * quitting begins, then uses the pool: in flight at the signal by construction.
 *
 * env: HOOK=hang adds a hook that never settles (its timeout: HOOK_TIMEOUT_MS, default
 * 300); POOL_DESTROY=hang makes the pool's onModuleDestroy never settle; QUIT_OPTIONS is
 * JSON merged into the module options (not with `quickStart`: the README's are used).
 */
import { Controller, Get, Injectable, Module, Query, type DynamicModule, type INestApplication, type OnModuleDestroy, type Type } from '@nestjs/common';
import { OnQuit, QuitModule, QuitService, TrackedWorker, type QuitModuleOptions } from 'nestjs-quit';
import { ev, sleep } from './log.js';

/** The application, for `GET /close` (Nest does not inject it). Set by main. */
export const appRef: { app?: INestApplication } = {};

export const untilQuitting = (quit: QuitService): Promise<void> =>
  new Promise((resolve) => (quit.isQuitting ? resolve() : quit.signal.addEventListener('abort', () => resolve())));

/** A stand-in for a database pool: closed in `onModuleDestroy`; work fails once it is closed. */
@Injectable()
export class Pool implements OnModuleDestroy {
  private open = true;

  /** Closes it now, whatever is using it (main.ts breaks the app on purpose with it). */
  closeNow(): void {
    this.open = false;
  }

  async query(ms: number): Promise<void> {
    if (!this.open) throw new Error('pool is closed');
    await sleep(ms);
    if (!this.open) throw new Error('pool closed while a query ran');
  }

  async onModuleDestroy(): Promise<void> {
    ev('pool.destroy');
    this.open = false;
    if (process.env['POOL_DESTROY'] === 'hang') await new Promise(() => undefined);
  }
}

@Injectable()
export class Jobs {
  constructor(
    private readonly pool: Pool,
    private readonly quit: QuitService,
  ) {}

  @TrackedWorker()
  async run(ms: number): Promise<void> {
    ev('worker.start');
    try {
      await untilQuitting(this.quit);
      await this.pool.query(ms);
      ev('worker.end');
    } catch (error) {
      ev(`worker.failed ${(error as Error).message}`);
    }
  }
}

@Injectable()
export class Hooks implements OnModuleDestroy {
  @OnQuit({ order: 1 })
  flush(): void {
    ev('hook.flush');
  }

  @OnQuit({ order: 0, timeoutMs: Number(process.env['HOOK_TIMEOUT_MS'] ?? 300) })
  async misbehave(): Promise<void> {
    if (process.env['HOOK'] !== 'hang') return;
    ev('hook.hang');
    await new Promise(() => undefined);
  }

  onModuleDestroy(): void {
    ev('hooks.destroy');
  }
}

@Controller()
export class ProbeController {
  constructor(
    private readonly pool: Pool,
    private readonly jobs: Jobs,
    private readonly quit: QuitService,
  ) {}

  @Get('slow')
  async slow(@Query('ms') ms = '300'): Promise<string> {
    ev('request.start');
    await untilQuitting(this.quit);
    try {
      await this.pool.query(Number(ms));
    } catch (error) {
      ev(`request.failed ${(error as Error).message}`);
      throw error;
    }
    ev('request.end');
    return 'done';
  }

  @Get('work')
  work(@Query('ms') ms = '300'): string {
    void this.jobs.run(Number(ms));
    return 'started';
  }

  /** `app.close()` as a script or a test calls it; then exits 0. */
  @Get('close')
  close(): string {
    setImmediate(() =>
      void appRef.app?.close().then(() => {
        ev('closed');
        process.exit(0);
      }),
    );
    return 'closing';
  }

  @Get('quit')
  quitNow(): string {
    setImmediate(() => void this.quit.quit('requested'));
    return 'quitting';
  }
}

@Module({})
export class AppModule {
  /**
   * The probe, plus `controllers` (the gRPC one in hybrid mode). `quickStart`: the README
   * quick start's module (./quick-start/app.module.ts), imported instead of
   * `QuitModule.forRoot()`: it imports the module itself, with the README's options.
   */
  static with(controllers: Type<unknown>[], quickStart?: Type<unknown>): DynamicModule {
    const options = JSON.parse(process.env['QUIT_OPTIONS'] ?? '{}') as QuitModuleOptions;
    return {
      module: AppModule,
      imports: [quickStart ?? QuitModule.forRoot({ timeoutMs: 10_000, ...options })],
      controllers: [ProbeController, ...controllers],
      providers: [Pool, Jobs, Hooks],
    };
  }
}

import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, Scope, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { OnQuit, QuitModule, QuitService, TrackedWorker, type QuitEvent, type QuitModuleOptions, type QuitReport } from '../lib/index.js';
import { QuitCoordinator } from '../lib/process/quit.coordinator.js';
import { QUIT_MODULE_OPTIONS } from '../lib/quit.constants.js';
import type { ResolvedQuitOptions } from '../lib/quit.options.js';
import { untilQuitting } from './helpers/quit.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A logger that keeps what it is given, for assertions. */
class MemoryLogger implements LoggerService {
  readonly lines: string[] = [];
  log(m: string) {
    this.lines.push(`log ${m}`);
  }
  warn(m: string) {
    this.lines.push(`warn ${m}`);
  }
  error(m: string) {
    this.lines.push(`error ${m}`);
  }
}

const order: string[] = [];

@Injectable()
class Closers {
  @OnQuit()
  first() {
    order.push('first (order 0, registered first)');
  }
  @OnQuit()
  second() {
    order.push('second (order 0, registered second)');
  }
  @OnQuit({ order: -1 })
  early() {
    order.push('early (order -1)');
  }
  onModuleDestroy() {
    order.push('onModuleDestroy');
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  @OnQuit()
  never() {
    order.push('request-scoped hook ran');
  }
}

@Injectable()
class Worker {
  runs = 0;
  @TrackedWorker()
  async job(ms: number) {
    this.runs++;
    await sleep(ms);
    order.push(`job ${ms} done`);
    return ms;
  }
  @TrackedWorker({ name: 'strict', whenQuitting: 'reject' })
  async strict() {
    return 'ran';
  }
  @TrackedWorker()
  syncJob() {
    return 'sync';
  }
}

let ctx: INestApplicationContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
  order.length = 0;
});

async function boot(options: QuitModuleOptions = {}, providers: any[] = [Closers, Worker]) {
  const logger = new MemoryLogger();
  @Module({ imports: [QuitModule.forRoot({ logger, ...options })], providers })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  ctx = await moduleRef.createNestApplication({ logger: false }).init();
  const quit = ctx.get(QuitService);
  const events: QuitEvent[] = [];
  quit.events$.subscribe((e) => events.push(e));
  return { quit, logger, events, ctx };
}

/** Closes the app as a test or a script does (`app.close()`) and returns the shutdown's report. */
async function closeApp(quit: QuitService): Promise<QuitReport> {
  const app = ctx!;
  ctx = undefined;
  await app.close();
  return quit.report!;
}

describe('QuitService', () => {
  it('runs @OnQuit hooks by order, last registered first within an order, before onModuleDestroy', async () => {
    const { ctx: app } = await boot();
    await app.close();
    ctx = undefined;
    expect(order).toEqual([
      'early (order -1)',
      'second (order 0, registered second)',
      'first (order 0, registered first)',
      'onModuleDestroy',
    ]);
  });

  it('accepts a function, a closer and a shutdowner, and unregisters', async () => {
    const { quit, ctx: app } = await boot({}, []);
    const seen: string[] = [];
    quit.onQuit(() => void seen.push('fn'));
    quit.onQuit({ close: () => void seen.push('close') });
    quit.onQuit({ shutdown: (signal: AbortSignal) => void seen.push(`shutdown ${signal instanceof AbortSignal}`) });
    const off = quit.onQuit(() => void seen.push('removed'));
    off();
    expect(() => quit.onQuit({} as never)).toThrow('QuitService.onQuit(');
    expect(() => quit.onQuit(() => 1, { timeoutMs: -5 })).toThrow('onQuit option "timeoutMs" must be a finite number of milliseconds from 1 to 2147483647, got -5');
    await app.close();
    ctx = undefined;
    expect(seen).toEqual(['shutdown true', 'close', 'fn']);
  });

  it('quit() is idempotent and fires isQuitting, the signal and the events in order', async () => {
    const { quit, events } = await boot({}, []);
    expect(quit.isQuitting).toBe(false);
    expect(quit.isReady).toBe(true);
    // app.close() is the trigger here: quit() first in-process would raise a signal at the test runner.
    const closing = closeApp(quit);
    await untilQuitting(quit);
    expect(quit.isQuitting).toBe(true);
    expect(quit.isReady).toBe(false);
    expect(quit.signal.aborted).toBe(true);
    // Joins the shutdown under way: the same promise, whoever calls.
    const joined = quit.quit('again');
    expect(quit.quit('once more')).toBe(joined);
    const report = await closing;
    expect(await joined).toBe(report);
    expect(report).toMatchObject({ trigger: 'close', ok: true, pending: [], failures: [] });
    expect(report.phases.map((p) => p.phase)).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks']);
    expect(events.map((e) => (e.type.startsWith('phase') ? `${e.type} ${(e as { phase: string }).phase}` : e.type))).toEqual([
      'quit.started',
      'phase.started fire',
      'phase.ended fire',
      'phase.started readiness',
      'phase.ended readiness',
      'phase.started transports',
      'transport.intake-stopped', // the app's HTTP server, never listening here
      'transport.drained',
      'phase.ended transports',
      'phase.started workers',
      'phase.ended workers',
      'phase.started hooks',
      'phase.ended hooks',
      'quit.ended',
    ]);
    expect(quit.report).toBe(report);
  });

  it('waits for tracked workers (decorated and by hand) before the hooks', async () => {
    const { quit, ctx: app } = await boot({}, [Worker, Closers]);
    const worker = app.get(Worker);
    void worker.job(120);
    const handle = quit.trackWorker('by-hand');
    setTimeout(() => {
      order.push('by-hand done');
      handle.done();
      handle.done(); // twice: no effect
    }, 60);
    void quit.track(sleep(30).then(() => order.push('tracked promise done')), 'promise');
    await app.close();
    ctx = undefined;
    expect(order).toEqual([
      'tracked promise done',
      'by-hand done',
      'job 120 done',
      'early (order -1)',
      'second (order 0, registered second)',
      'first (order 0, registered first)',
      'onModuleDestroy',
    ]);
  });

  it('once quitting, a tracked method is skipped (or rejects with whenQuitting: reject) and counted', async () => {
    const { quit, ctx: app } = await boot({}, [Worker]);
    const worker = app.get(Worker);
    const shutdown = closeApp(quit);
    await untilQuitting(quit);
    await expect(worker.job(10)).resolves.toBeUndefined();
    expect(worker.syncJob()).toBeUndefined();
    await expect(worker.strict()).rejects.toThrow('strict was not started: the application is shutting down.');
    expect(worker.runs).toBe(0);
    const report = await shutdown;
    expect(report.skippedWorkerRuns).toBe(3);
  });

  it('a worker that never finishes is cut at the workers timeout and named', async () => {
    const { quit } = await boot({ phaseTimeouts: { workers: 50 } }, []);
    quit.trackWorker('stuck-consumer');
    const report = await closeApp(quit);
    expect(report.ok).toBe(false);
    expect(report.pending).toEqual(['workers: stuck-consumer x1']);
    expect(report.phases.find((p) => p.phase === 'workers')).toMatchObject({ timedOut: true });
    expect(() => quit.trackWorker('late')).toThrow('the workers phase of the shutdown is over');
  });

  it('a hook that rejects after its timeout is reported once, as a timeout, without an unhandled rejection', async () => {
    const { quit, logger } = await boot({}, []);
    quit.onQuit(() => sleep(80).then(() => Promise.reject(new Error('late'))), { name: 'late-hook', timeoutMs: 20 });
    const report = await closeApp(quit);
    await sleep(120);
    expect(report.failures.map((f) => f.message)).toEqual(['Quit hook late-hook did not finish within 20 ms']);
    expect(logger.lines.filter((l) => l.startsWith('error Quit hook'))).toEqual(['error Quit hook late-hook did not finish within 20 ms']);
  });

  it('warns about, and skips, @OnQuit on a request-scoped provider, naming Class@method', async () => {
    const { logger, ctx: app } = await boot({}, [PerRequest]);
    await app.close();
    ctx = undefined;
    expect(logger.lines).toContain(
      'warn @OnQuit() on PerRequest@never is ignored: the provider is not static (request or transient scope). Move it to a singleton provider.',
    );
    expect(order).not.toContain('request-scoped hook ran');
  });

  it('the coordinator is not in the container under its class: user code cannot inject it, only QuitService', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [QuitModule.forRoot({ logger: false })] }).compile();
    expect(moduleRef.get(QuitService)).toBeInstanceOf(QuitService);
    expect(() => moduleRef.get(QuitCoordinator)).toThrow('QuitCoordinator');
    await moduleRef.close();
  });

  it('forRootAsync() resolves and checks the options', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [QuitModule.forRootAsync({ useFactory: async () => ({ timeoutMs: 1234, logger: false as const }) })],
    }).compile();
    ctx = await moduleRef.createNestApplication({ logger: false }).init();
    expect(ctx.get<ResolvedQuitOptions>(QUIT_MODULE_OPTIONS).timeoutMs).toBe(1234);
    await expect(
      Test.createTestingModule({ imports: [QuitModule.forRootAsync({ useFactory: () => ({ readinessDelayMs: -1 }) })] }).compile(),
    ).rejects.toThrow('QuitModule option "readinessDelayMs" is invalid: got -1');
    expect(() => QuitModule.forRootAsync({} as never)).toThrow('exactly one of useFactory, useClass or useExisting');
  });
});

describe('QuitService.signal', () => {
  it('takes a listener per request in flight without a MaxListenersExceededWarning', async () => {
    const { quit } = await boot({}, []);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    let aborted = 0;
    for (let i = 0; i < 50; i++) quit.signal.addEventListener('abort', () => aborted++);
    await closeApp(quit);
    await new Promise((r) => setImmediate(r));
    process.removeListener('warning', onWarning);
    expect(aborted).toBe(50);
    expect(warnings).toEqual([]);
  });
});

// The transports phase with drainers standing in for servers: test/quit.pipeline.spec.ts.

describe('edge cases a review found', () => {
  @TrackedWorker()
  @Injectable()
  class TrackedClass {
    runs = 0;
    work() {
      this.runs++;
    }
    @OnQuit()
    closeUp() {
      order.push('class-tracked closeUp ran');
    }
  }

  it('a class-level @TrackedWorker() leaves the class\'s @OnQuit() method alone: the hook runs', async () => {
    const { quit, ctx: app } = await boot({}, [TrackedClass]);
    app.get(TrackedClass).work();
    expect(app.get(TrackedClass).runs).toBe(1);
    const report = await closeApp(quit);
    expect(order).toEqual(['class-tracked closeUp ran']);
    expect(report.skippedWorkerRuns).toBe(0);
  });

  it('a provider behind an alias registers its @OnQuit() hooks once', async () => {
    const { ctx: app } = await boot({}, [Closers, { provide: 'CLOSERS', useExisting: Closers }]);
    await app.close();
    ctx = undefined;
    expect(order.filter((o) => o.startsWith('first'))).toEqual(['first (order 0, registered first)']);
  });

  it('@OnQuit() and @TrackedWorker() on one method are refused at startup, naming it', async () => {
    @Injectable()
    class Both {
      @OnQuit()
      @TrackedWorker()
      flush() {}
    }
    await expect(boot({}, [Both])).rejects.toThrow('@OnQuit() and @TrackedWorker() on Both@flush');
  });

  it('a phase with nothing to wait for is not a timeout, even with a zero timeout', async () => {
    const { quit } = await boot({ phaseTimeouts: { transports: 0, workers: 0, hooks: 0 } }, []);
    const report = await closeApp(quit);
    expect(report).toMatchObject({ ok: true, pending: [], failures: [] });
  });

  it('quit() called from a listener of the abort signal joins the running shutdown', async () => {
    const { quit, events } = await boot({}, []);
    let joined: Promise<unknown> | undefined;
    quit.signal.addEventListener('abort', () => (joined = quit.quit('from a listener')));
    const report = await closeApp(quit);
    expect(await joined).toBe(report);
    expect(report.trigger).toBe('close');
    expect(events.filter((e) => e.type === 'quit.started')).toHaveLength(1);
  });

  it('track() after the workers phase returns a rejected promise rather than throwing', async () => {
    const { quit } = await boot({}, []);
    await closeApp(quit);
    await expect(quit.track(Promise.resolve(1), 'late')).rejects.toThrow('the workers phase of the shutdown is over');
  });

  it('a readiness delay as long as the deadline is refused', () => {
    expect(() => QuitModule.forRoot({ timeoutMs: 1_000, readinessDelayMs: 1_000 })).toThrow(
      'QuitModule option "readinessDelayMs" is invalid: got 1000; expected less than timeoutMs (1000).',
    );
  });
});

/**
 * Compiled, never run: the public types as a consumer uses them, under the strictest
 * settings (see `../tsconfig.base.json`). Each `@ts-expect-error` proves a type is
 * precise, not `any`: it fails the compile if the line below it type-checks.
 */
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import {
  QUIT_DEFAULTS,
  QuitGrpcHealth,
  QuitHealthIndicator as RootQuitHealthIndicator,
  QuitModule,
  QuitOptionsError,
  QuitService,
  type GrpcServingStatus,
  type OnQuitOptions,
  type QuitEvent,
  type QuitModuleAsyncOptions,
  type QuitModuleOptions,
  type QuitOptionsFactory,
  type QuitPhase,
  type QuitReport,
  type QuitTrigger,
  type TrackedWorkerOptions,
  type Unregister,
  type WorkerHandle,
} from 'nestjs-quit';
import { QuitHealthIndicator, type QuitHealthResult } from 'nestjs-quit/terminus';
import { httpLoad, runShutdown, workLoad, type ShutdownResult } from 'nestjs-quit/testing';

export const options: QuitModuleOptions = {
  timeoutMs: 20_000,
  readinessDelayMs: 0,
  phaseTimeouts: { transports: 5_000, workers: 5_000, hooks: 5_000 },
  hookTimeoutMs: 1_000,
  transportOrder: ['http', 'grpc', 'rpc'],
  http: { idleGraceMs: 250 },
  signals: ['SIGTERM', 'SIGINT'],
  exitCode: 0,
  failureExitCode: 2,
  logger: false,
  grpcHealth: true,
};

// @ts-expect-error a timeout is a number of milliseconds
export const badTimeout: QuitModuleOptions = { timeoutMs: '20s' };
// @ts-expect-error only the transports the module knows
export const badTransport: QuitModuleOptions = { transportOrder: ['pigeon'] };
// @ts-expect-error signals are Node signal names
export const badSignal: QuitModuleOptions = { signals: ['SIGNOPE'] };
// @ts-expect-error grpcHealth is on or off
export const badGrpcHealth: QuitModuleOptions = { grpcHealth: 'yes' };

export const root: DynamicModule = QuitModule.forRoot(options);
const asyncOptions: QuitModuleAsyncOptions = { useFactory: async () => ({ timeoutMs: QUIT_DEFAULTS.timeoutMs }), inject: [] };
export const rootAsync: DynamicModule = QuitModule.forRootAsync(asyncOptions);

/** A configuration provider, as an app has one (a stand-in for @nestjs/config's ConfigService). */
@Injectable()
export class AppConfig {
  number(key: string): number | undefined {
    const value = process.env[key];
    return value === undefined ? undefined : Number(value);
  }
}

@Module({ providers: [AppConfig], exports: [AppConfig] })
export class AppConfigModule {}

/** forRootAsync({ useFactory, inject }): the factory gets the injected providers, typed by the user. */
export const rootAsyncFactory: DynamicModule = QuitModule.forRootAsync({
  imports: [AppConfigModule],
  useFactory: (config: AppConfig) => ({ timeoutMs: config.number('QUIT_TIMEOUT_MS') ?? 25_000, grpcHealth: true }),
  inject: [AppConfig],
});

/** forRootAsync({ useClass }): a class with createQuitOptions(). */
@Injectable()
export class QuitConfig implements QuitOptionsFactory {
  constructor(private readonly config: AppConfig) {}

  async createQuitOptions(): Promise<QuitModuleOptions> {
    return { readinessDelayMs: this.config.number('READINESS_DELAY_MS') ?? 0, grpcHealth: true };
  }
}
export const rootAsyncClass: DynamicModule = QuitModule.forRootAsync({ imports: [AppConfigModule], useClass: QuitConfig });
export const rootAsyncExisting: DynamicModule = QuitModule.forRootAsync({ imports: [AppConfigModule], useExisting: QuitConfig });

// @ts-expect-error the factory makes QuitModuleOptions
export const badFactory: DynamicModule = QuitModule.forRootAsync({ useFactory: () => ({ timeoutMs: '20s' }) });
// @ts-expect-error useClass takes a class with createQuitOptions()
export const badClass: DynamicModule = QuitModule.forRootAsync({ useClass: AppConfig });

export const workerOptions: TrackedWorkerOptions = { name: 'mailer', whenQuitting: 'reject' };
export const hookOptions: OnQuitOptions = { name: 'flush', order: 1, timeoutMs: 500 };

/** What a consumer writes against a `QuitService`. */
export async function useService(quit: QuitService): Promise<string[]> {
  const flags: [boolean, boolean, AbortSignal] = [quit.isQuitting, quit.isReady, quit.signal];
  const off: Unregister = quit.onQuit((signal: AbortSignal) => void signal.aborted, hookOptions);
  quit.onQuit({ close: () => undefined });
  quit.onQuit({ shutdown: async (signal: AbortSignal) => void signal.aborted });
  // @ts-expect-error a hook is a function, a closer or a shutdowner
  quit.onQuit({ stop: () => undefined });
  off();

  const handle: WorkerHandle = quit.trackWorker('sync');
  handle.done();
  const n: number = await quit.track(Promise.resolve(42), 'answer');
  // @ts-expect-error track() keeps the type of the promise
  const s: string = await quit.track(Promise.resolve(42));

  const lines: string[] = [String(flags[0]), String(n), s];
  quit.events$.subscribe((event: QuitEvent) => lines.push(describe(event)));
  const report: QuitReport = await quit.quit('done');
  lines.push(summarize(report));
  return lines;
}

function describe(event: QuitEvent): string {
  switch (event.type) {
    case 'quit.started': {
      const trigger: QuitTrigger = event.trigger;
      return `started by ${trigger}${event.signal ? ` (${event.signal})` : ''}`;
    }
    case 'phase.ended': {
      const phase: QuitPhase = event.phase;
      return `${phase} took ${event.durationMs} ms${event.timedOut ? `, pending ${event.pending.join(', ')}` : ''}`;
    }
    case 'transport.drained':
      return `${event.name} drained${event.forced ? ' (forced)' : ''}`;
    case 'hook.ended':
      return `${event.name} ${event.error === undefined ? 'ok' : 'failed'}`;
    case 'quit.ended':
      return summarize(event.report);
    default:
      return event.type;
  }
}

function summarize(report: QuitReport): string {
  const forced: 'deadline' | 'second-signal' | undefined = report.forced;
  const phases = report.phases.map((p) => `${p.phase}:${p.durationMs}${p.timedOut ? '!' : ''}`);
  const failures = report.failures.map((f) => `${f.phase}/${f.source}: ${f.message}`);
  // @ts-expect-error the report's durations are numbers
  const wrong: string = report.durationMs;
  return [report.ok, report.trigger, forced, wrong, ...phases, ...report.pending, ...failures].join(' ');
}

export function isOptionsError(error: unknown): string | undefined {
  return error instanceof QuitOptionsError ? error.message : undefined;
}

/** The readiness indicator, as a terminus health check calls it (the same class from either entry). */
export function readiness(indicator: QuitHealthIndicator, fromRoot: RootQuitHealthIndicator): QuitHealthResult<'shutdown'> {
  // Nominal (the class has a private member): the two entries' classes are one declaration.
  const same: QuitHealthIndicator = fromRoot;
  void same;
  const result = indicator.isReady();
  const status: 'up' | 'down' = result.shutdown.status;
  // @ts-expect-error the result is keyed by the name given
  void indicator.isAlive('process').shutdown;
  return { shutdown: { status } };
}

/** gRPC health (`grpcHealth: true`): one of the app's services marked down while a dependency is. */
export function dependencyDown(health: QuitGrpcHealth, down: boolean): GrpcServingStatus | undefined {
  const status: GrpcServingStatus = down ? 'NOT_SERVING' : 'SERVING';
  if (health.enabled) health.setStatus('orders.Orders', status);
  // @ts-expect-error a status is SERVING or NOT_SERVING
  health.setStatus('orders.Orders', 'SERVICE_UNKNOWN');
  // @ts-expect-error status() is undefined for a service the server does not know
  const known: GrpcServingStatus = health.status('orders.Orders');
  void known;
  return health.status();
}

/** nestjs-quit/testing: a user's shutdown test, typed (not run here). */
export async function drainsCleanly(): Promise<ShutdownResult> {
  const result = await runShutdown({
    app: { main: 'dist/src/main.js', env: { LOG: '0' } },
    load: [httpLoad({ path: '/slow?ms=100', connections: 4 }), workLoad({ name: 'own', unit: async () => undefined })],
    inFlight: 4,
  });
  const lost: number = result.lost;
  const code: number | null | undefined = result.exit?.code;
  // @ts-expect-error the figures are numbers
  const resets: string = result.resets;
  void [lost, code, resets];
  return result;
}

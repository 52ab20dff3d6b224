import { Inject, Injectable, ShutdownSignal } from '@nestjs/common';
import { setMaxListeners } from 'node:events';
import { Subject } from 'rxjs';
import { errorMessage, errorStack } from '../errors/error-message.js';
import { HookRegistry } from '../hooks/hook.registry.js';
import type { QuitEvent } from '../interfaces/quit-event.interface.js';
import type { QuitReport, QuitTrigger } from '../interfaces/quit-report.interface.js';
import type { WorkerHandle } from '../interfaces/tracked-worker.interface.js';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { QuitPipeline } from '../pipeline/quit.pipeline.js';
import { safeLog } from '../pipeline/safe-log.js';
import { now } from '../pipeline/timing.js';
import { QUIT_MODULE_OPTIONS } from '../quit.constants.js';
import { QuitMessages } from '../quit.messages.js';
import type { ResolvedQuitOptions } from '../quit.options.js';
import type { WorkerSource } from '../workers/worker-source.interface.js';
import { WorkerTracker } from '../workers/worker.tracker.js';
import { decideExit } from './exit.decision.js';
import { processEventsHub, type ProcessEventsHub, type ProcessEventsSubscriber } from './process-events.hub.js';
import { signalHub, type SignalHub, type SignalSubscriber } from './signal.hub.js';

/** What a `@TrackedWorker()` wrapper finds on its instance (see `QUIT_TRACKER`). */
export interface WorkerGate {
  readonly isQuitting: boolean;
  trackWorker(name: string): WorkerHandle;
  /** A call refused because quitting had begun: counted in the report. */
  workerSkipped(name: string): void;
}

/** The process-wide parts, injectable for unit tests. */
export interface CoordinatorProcess {
  signals: Pick<SignalHub, 'subscribe' | 'sync' | 'handled' | 'raise' | 'expectReraise'>;
  events: Pick<ProcessEventsHub, 'subscribe' | 'sync'>;
  exit(code: number): void;
}

const realProcess: CoordinatorProcess = {
  signals: signalHub,
  events: processEventsHub,
  exit: (code) => process.exit(code),
};

/** Uncaught errors recorded (and logged) per shutdown; later ones are only counted towards ownership. */
const MAX_RECORDED_ERRORS = 20;

/** Token of the process-wide parts: the module provides the real ones, a unit test its own. */
const QUIT_PROCESS = 'quit:process';
export const realProcessProvider = { provide: QUIT_PROCESS, useValue: realProcess };

/**
 * Owns one application's shutdown, from whatever starts it to the exit:
 *
 * - **trigger**: a signal in `signals` (`onSignal`), `app.close()` (Nest's
 *   `onModuleDestroy`, `onNestDestroy`), `quit()`, an uncaught error (`onUncaughtError`);
 *   the first one starts the pipeline, every later one joins it;
 * - **initialisation**: a shutdown asked for while Nest still runs `onModuleInit` /
 *   `onApplicationBootstrap` starts its pipeline once they are over;
 * - **ownership**: a signal (one of `signals`, or any other shutdown signal Nest
 *   listens to), `quit()` through Nest's listener, or an uncaught error makes the
 *   process this shutdown's to end; `app.close()` alone leaves it to its caller;
 * - **one deadline**, armed when the shutdown starts and honoured whenever the process
 *   becomes owned, even after it has passed (then the process ends at once);
 * - **the exit**: `decideExit(report)`, at Nest's last `onApplicationShutdown` (`finish`),
 *   at the deadline, on a second signal; `process.exit()` called meanwhile is reported.
 */
@Injectable()
export class QuitCoordinator implements SignalSubscriber, ProcessEventsSubscriber, WorkerGate {
  readonly signals: readonly NodeJS.Signals[];
  /** Every shutdown signal Nest's `enableShutdownHooks()` may listen to: Nest closes the app on them. */
  readonly watched: readonly NodeJS.Signals[];
  holding = false;

  readonly abort = new AbortController();
  readonly events = new Subject<QuitEvent>();
  readonly workers = new WorkerTracker(this.abort.signal);
  readonly hooks = new HookRegistry();
  private readonly drainers: TransportDrainer[] = [];
  /** Unregistered while the transports phase drained them: disposed once it is over. */
  private readonly afterTransports: TransportDrainer[] = [];
  private readonly sources: WorkerSource[] = [];
  private skipped = 0;

  private trigger?: QuitTrigger;
  private pipeline?: QuitPipeline;
  private running?: Promise<QuitReport>;
  private lastReport?: QuitReport;
  /** The first error of an error-triggered shutdown, recorded once the pipeline exists. */
  private triggerError?: { origin: string; error: unknown };

  private init: 'not-started' | 'running' | 'done' = 'not-started';
  private initDone!: () => void;
  private readonly initialised = new Promise<void>((resolve) => (this.initDone = resolve));

  private owned = false;
  /** An outside signal in `signals` has been seen: the next one means "stop now". */
  private signalled = false;
  /** The signal Nest re-raises once closed: the first outside one, or the one `quit()` raised. */
  private endSignal?: NodeJS.Signals;
  /** A shutdown signal not in `signals`, just delivered: Nest's listener is about to close the app. */
  private foreignSignal?: NodeJS.Signals;
  /** Nest is closing the app (its `onModuleDestroy` reached us). */
  private nestClosing = false;
  private deadlineAt?: number;
  private deadlineTimer?: NodeJS.Timeout;
  /** Runs the pipeline of a shutdown asked for during an initialisation that never ends. */
  private initFallback?: NodeJS.Timeout;
  private exiting = false;
  private finished = false;
  private uncaught = 0;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    @Inject(QUIT_MODULE_OPTIONS) readonly options: ResolvedQuitOptions,
    @Inject(QUIT_PROCESS) private readonly proc: CoordinatorProcess,
  ) {
    // Every request, stream or loop in flight may listen to the signal: hundreds of
    // listeners are normal here, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.signals = options.signals;
    this.watched = Object.values(ShutdownSignal).filter((s) => !options.signals.includes(s as NodeJS.Signals)) as NodeJS.Signals[];
    // From construction on, before `enableShutdownHooks()` is even called: a signal
    // during bootstrap must be seen too.
    this.unsubscribe = [proc.signals.subscribe(this), proc.events.subscribe(this)];
  }

  get isQuitting(): boolean {
    return this.abort.signal.aborted;
  }

  get quitTrigger(): QuitTrigger | undefined {
    return this.trigger;
  }

  /** The report: the final one once the pipeline is over (with errors met after it), a live one before. */
  get report(): QuitReport | undefined {
    return this.lastReport ?? this.pipeline?.report();
  }

  get wantsErrors(): boolean {
    if (this.finished) return false;
    return this.running !== undefined || (this.init === 'done' && this.options.quitOnUncaughtError);
  }

  /**
   * Adds a drainer for the transports phase; returns what takes it out again (a server the
   * app unregisters) and disposes of it. Once the shutdown has begun: drained in the
   * transports phase if that phase still waits for its drains; once it is over, a server
   * the app registers (`own`) is refused, with the error for `QuitService.onQuit`.
   */
  addDrainer(drainer: TransportDrainer, own = false): () => void {
    const pipeline = this.pipeline;
    if (pipeline && !pipeline.joinTransports(drainer) && pipeline.transports !== 'before' && own) {
      drainer.dispose?.();
      throw new Error(QuitMessages.serverAfterTransports(drainer.name));
    }
    this.drainers.push(drainer);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const i = this.drainers.indexOf(drainer);
      if (i >= 0) this.drainers.splice(i, 1);
      // A drain under way still needs its listeners: they come off when it is over.
      if (this.pipeline?.transports === 'open') this.afterTransports.push(drainer);
      else drainer.dispose?.();
    };
  }

  addSource(source: WorkerSource): void {
    this.sources.push(source);
  }

  trackWorker(name: string): WorkerHandle {
    return this.workers.start(name);
  }

  workerSkipped(name: string): void {
    this.skipped++;
    this.events.next({ type: 'worker.skipped', name, at: Date.now() });
  }

  // ---- Nest's lifecycle -------------------------------------------------------------

  /** The first `onModuleInit` of the app (the outer module's). */
  initStarted(): void {
    if (this.init === 'not-started') this.init = 'running';
  }

  /** The last `onApplicationBootstrap` of the app (the `QuitModule`'s). */
  initFinished(): void {
    this.init = 'done';
    this.initDone();
    this.proc.events.sync();
  }

  /** Nest's close reached the first `onModuleDestroy`: start the shutdown, or join it. */
  onNestDestroy(): Promise<QuitReport> {
    this.nestClosing = true;
    if (this.running) return this.running;
    const signal = this.foreignSignal;
    if (signal) {
      this.endSignal ??= signal;
      return this.start('signal', { signal });
    }
    return this.start('close');
  }

  /** After Nest's last `onApplicationShutdown`: lets go of the process events and ends an owned process. */
  finish(): void {
    if (this.finished) return;
    this.letGo();
    if (!this.owned || this.exiting) return;
    this.end();
  }

  // ---- triggers ---------------------------------------------------------------------

  /** `quit()`: the same pipeline, then Nest closes the app through its shutdown-hook listener. */
  quit(reason?: string): Promise<QuitReport> {
    return this.start('quit', { reason });
  }

  onSignal(signal: NodeJS.Signals, selfRaised: boolean): void {
    if (this.finished || this.exiting) return;
    // Our own quit() closing the app through Nest's listener is not an outside signal.
    if (selfRaised && this.running) return;
    if (this.running && this.deadlinePassed()) {
      // Late, or foreign: the shutdown is out of time and someone wants the process gone.
      this.own();
      return;
    }
    if (!this.signals.includes(signal)) {
      // Not ours to act on (SIGHUP may reopen logs); but if Nest listens to it, it closes
      // the app now, and then ends the process: that shutdown owns it.
      if (this.running) {
        this.endSignal ??= signal;
        this.own();
      } else {
        this.foreignSignal = signal;
        // Nest's listener reaches onModuleDestroy within microtasks of this delivery, or,
        // for an application context, right after the initialisation it waits for.
        const forget = () =>
          setImmediate(() => {
            if (this.foreignSignal === signal) this.foreignSignal = undefined;
          });
        if (this.init === 'running') void this.initialised.then(forget);
        else forget();
      }
      return;
    }
    if (this.signalled) {
      this.forceExit('second-signal', QuitMessages.secondSignal(signal));
      return;
    }
    this.signalled = true;
    this.endSignal ??= signal;
    this.own();
    if (!this.running) void this.start('signal', { signal });
  }

  onUncaughtError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): boolean {
    if (this.finished || this.exiting) return false;
    const message = errorMessage(error);
    const stack = errorStack(error);
    if (!this.running) {
      if (this.init !== 'done' || !this.options.quitOnUncaughtError) return false;
      safeLog(this.options.logger, 'error', QuitMessages.uncaughtStartsShutdown(origin, message), stack);
      this.triggerError = { origin, error };
      void this.start('error', { reason: `${origin}: ${message}` });
      return true;
    }
    // A timer that throws on every tick must not flood the log or grow the report without bound.
    this.uncaught++;
    if (this.uncaught <= MAX_RECORDED_ERRORS) {
      safeLog(this.options.logger, 'error', QuitMessages.uncaughtDuringShutdown(origin, message), stack);
      this.record(origin, error);
    } else if (this.uncaught === MAX_RECORDED_ERRORS + 1) {
      safeLog(this.options.logger, 'error', QuitMessages.uncaughtNotRecorded(MAX_RECORDED_ERRORS));
    }
    // Without us the process would have died of it: it is ours to end, non-zero.
    this.own();
    return true;
  }

  onProcessExit(code: number): void {
    if (this.exiting || this.finished || !this.running) return;
    this.exiting = true;
    const report = this.forcedReport({ processExitCode: code });
    safeLog(this.options.logger, 'error', QuitMessages.processExitDuringShutdown(code, report.pending));
    this.events.next({ type: 'quit.forced', at: Date.now(), report });
    // Work was skipped: a zero code would say otherwise. Node exits with `process.exitCode`
    // as it stands after the 'exit' listeners.
    if (!code) process.exitCode = this.options.failureExitCode;
  }

  // ---- the shutdown -----------------------------------------------------------------

  /** Starts the shutdown once; every later call, whatever its trigger, joins it. */
  start(trigger: QuitTrigger, detail: { signal?: string; reason?: string } = {}): Promise<QuitReport> {
    if (this.running) return this.running;
    this.trigger = trigger;
    this.deadlineAt = now() + this.options.timeoutMs;
    this.holding = true;
    this.proc.signals.sync();
    this.pipeline = new QuitPipeline({
      options: this.options,
      trigger,
      ...detail,
      deadlineAt: this.deadlineAt,
      drainers: this.drainers,
      sources: this.sources,
      workers: this.workers,
      hooks: this.hooks,
      fire: () => this.abort.abort(new Error(`quit: ${detail.signal ?? detail.reason ?? trigger}`)),
      emit: (event) => this.onPipelineEvent(event),
      skippedWorkerRuns: () => this.skipped,
      logger: this.options.logger,
    });
    if (this.triggerError) this.record(this.triggerError.origin, this.triggerError.error);
    // Set before the pipeline runs: its first steps are synchronous (the fire aborts the
    // signal), and a listener there may call quit() again.
    let settle!: (report: QuitReport) => void;
    this.running = new Promise((resolve) => (settle = resolve));
    this.proc.events.sync();
    this.armDeadline();
    if (trigger === 'signal' || trigger === 'error') this.own();
    const pipeline = this.pipeline;
    let started = false;
    const run = () => {
      if (started) return;
      started = true;
      clearTimeout(this.initFallback);
      const ended = (report: QuitReport) => {
        this.lastReport = report;
        this.events.next({ type: 'quit.ended', at: Date.now(), report });
        settle(report);
        this.afterPipeline();
      };
      // The pipeline never rejects; were it to (a bug of ours), the shutdown still settles
      // with what it got to, or app.close() and quit() would wait forever.
      pipeline.run().then(ended, (error: unknown) => {
        pipeline.recordFailure('pipeline', QuitMessages.pipelineFailed(), error);
        ended(pipeline.report());
      });
    };
    if (this.init === 'running') {
      safeLog(this.options.logger, 'log', QuitMessages.waitingForInit());
      // One more turn after init: what the bootstrap code does right after it (Nest's
      // listen() binds the HTTP server) is done before the drain stops the intake.
      void this.initialised.then(() => setImmediate(run));
      // An initialisation that failed never says it is over: at the deadline the
      // pipeline runs anyway (with no time left, it reports what it could not do).
      this.initFallback = setTimeout(run, this.options.timeoutMs).unref();
    } else {
      run();
    }
    // quit() and an error have no handle on the app: Nest's own listener closes it,
    // once this shutdown has fully started.
    if (trigger === 'quit' || trigger === 'error') queueMicrotask(() => this.closeApp());
    return this.running;
  }

  private onPipelineEvent(event: QuitEvent): void {
    if (event.type === 'phase.ended' && event.phase === 'transports') this.afterTransports.splice(0).forEach((d) => d.dispose?.());
    this.events.next(event);
    // The pipeline ran out of the same deadline the timer measures: whichever sees it first ends an owned process.
    if (event.type === 'quit.deadline') this.onDeadline();
  }

  /** An error-started shutdown with nothing to close the app ends the process itself. */
  private afterPipeline(): void {
    if (this.trigger === 'error' && !this.nestClosing && !this.finished && !this.exiting) {
      this.letGo();
      this.end();
    }
  }

  /**
   * This app's shutdown is over: nothing process-wide keeps it any longer (the hubs would
   * hold it, and act on the next signal, for the life of the process), and `events` completes.
   */
  private letGo(): void {
    this.finished = true;
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.initFallback);
    this.holding = false;
    this.unsubscribe.forEach((off) => off());
    this.events.complete();
  }

  private closeApp(): void {
    if (this.nestClosing) return;
    const [signal] = this.proc.signals.handled(this.signals);
    if (!signal) {
      if (this.trigger === 'quit') {
        // Nothing can close the app: do not keep signals away from Node's default action,
        // and leave the process to whoever calls app.close().
        safeLog(this.options.logger, 'warn', QuitMessages.noShutdownHooks());
        this.holding = false;
        this.proc.signals.sync();
      }
      return;
    }
    this.endSignal = signal;
    this.own();
    this.proc.signals.raise(signal);
  }

  private record(origin: string, error: unknown): void {
    const message = QuitMessages.uncaughtError(origin);
    if (this.lastReport) {
      // The pipeline is over; Nest's own hooks are running: the final report takes it.
      this.lastReport.failures.push({ phase: 'hooks', source: origin, message: `${message}: ${errorMessage(error)}`, error });
      this.lastReport.ok = false;
    } else {
      this.pipeline?.recordFailure(origin, message, error);
    }
  }

  // ---- ownership, deadline, exit ------------------------------------------------------

  private own(): void {
    this.owned = true;
    if (this.deadlineAt !== undefined) this.armDeadline();
  }

  private deadlinePassed(): boolean {
    return this.deadlineAt !== undefined && now() >= this.deadlineAt;
  }

  /** (Re)arms the one deadline for what is left of it; a fired timer cannot be re-ref'd, so a new one. */
  private armDeadline(): void {
    if (this.deadlineAt === undefined || this.finished) return;
    clearTimeout(this.deadlineTimer);
    const left = this.deadlineAt - now();
    if (left <= 0 && this.owned) {
      this.onDeadline();
      return;
    }
    this.deadlineTimer = setTimeout(() => this.onDeadline(), Math.max(left, 0));
    if (!this.owned) this.deadlineTimer.unref();
  }

  private onDeadline(): void {
    if (this.owned && !this.finished) this.forceExit('deadline', QuitMessages.deadline(this.options.timeoutMs));
  }

  private forcedReport(cut: NonNullable<QuitReport['forced']> | { processExitCode: number }): QuitReport {
    const report = this.pipeline!.report(cut);
    if (this.lastReport) {
      // The pipeline was over: what kept the process was Nest's own hooks after it.
      report.failures = [...this.lastReport.failures];
      report.pending.push(QuitMessages.nestHooksPending());
    } else if (this.init === 'running') {
      report.pending.push(QuitMessages.initPending());
    } else if (typeof cut === 'object') {
      report.pending.push(QuitMessages.nestHooksNotRun());
    }
    return report;
  }

  private forceExit(forced: NonNullable<QuitReport['forced']>, message: string): void {
    if (this.exiting) return;
    this.exiting = true;
    clearTimeout(this.deadlineTimer);
    safeLog(this.options.logger, 'error', message);
    const report = this.forcedReport(forced);
    this.events.next({ type: 'quit.forced', at: Date.now(), report });
    this.proc.exit(this.options.failureExitCode);
  }

  private end(): void {
    const decision = decideExit(this.report, this.options, this.endSignal);
    if ('reraise' in decision) {
      // Nest ends the process: it re-raises the signal.
      this.proc.signals.expectReraise(decision.reraise);
      return;
    }
    this.exiting = true;
    safeLog(this.options.logger, 'log', QuitMessages.exiting(decision.code));
    this.proc.exit(decision.code);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { setMaxListeners } from 'node:events';
import { Observable, Subject } from 'rxjs';
import { ownServerDrainer, type OwnServer } from './drainers/own-server.js';
import { HookRegistry } from './hooks/hook.registry.js';
import type { QuitEvent } from './interfaces/quit-event.interface.js';
import type { OnQuitOptions, QuitHandler, Unregister } from './interfaces/quit-hook.interface.js';
import type { QuitReport, QuitTrigger } from './interfaces/quit-report.interface.js';
import type { WorkerHandle } from './interfaces/tracked-worker.interface.js';
import type { TransportDrainer } from './interfaces/transport-drainer.interface.js';
import { QuitPipeline } from './pipeline/quit.pipeline.js';
import { QUIT_MODULE_OPTIONS } from './quit.constants.js';
import { QuitMessages } from './quit.messages.js';
import type { ResolvedQuitOptions } from './quit.options.js';
import { WorkerTracker } from './workers/worker.tracker.js';

/**
 * The quit event of one application: Go's `quit` package, Nest-shaped. Inject it
 * anywhere to learn that the app is shutting down (`isQuitting`, `signal`, `events$`),
 * to register what must be closed (`onQuit`), to count work in flight
 * (`trackWorker`, `track`), or to stop the app (`quit`).
 */
@Injectable()
export class QuitService {
  private readonly abort = new AbortController();
  private readonly events = new Subject<QuitEvent>();
  private readonly workers = new WorkerTracker(this.abort.signal);
  private readonly hooks = new HookRegistry();
  private readonly drainers: TransportDrainer[] = [];
  private pipeline?: QuitPipeline;
  private running?: Promise<QuitReport>;
  private lastReport?: QuitReport;
  private skipped = 0;

  /** Every shutdown event, in order: phases started and ended, hooks, transports, the report. */
  readonly events$: Observable<QuitEvent> = this.events.asObservable();

  constructor(@Inject(QUIT_MODULE_OPTIONS) readonly options: ResolvedQuitOptions) {
    // Every request, stream or loop in flight may listen to the signal: hundreds of
    // listeners are normal here, not a leak, so Node's MaxListeners warning is off for it.
    setMaxListeners(0, this.abort.signal);
  }

  /** True from the first moment of a shutdown (Go's `HasFired()`). */
  get isQuitting(): boolean {
    return this.abort.signal.aborted;
  }

  /** What a readiness check reports: false as soon as quitting begins. Liveness is not affected. */
  get isReady(): boolean {
    return !this.isQuitting;
  }

  /** Aborts when quitting begins (Go's `Done()`): hand it to loops, fetches and streams. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** What the shutdown started by `trigger` was, while it runs, and once it is over. */
  get trigger(): QuitTrigger | undefined {
    return this.pipelineTrigger;
  }
  private pipelineTrigger?: QuitTrigger;

  /** The report of the shutdown: a live one while it runs, the final one once over. */
  get report(): QuitReport | undefined {
    return this.lastReport ?? this.pipeline?.report();
  }

  /**
   * Shuts the application down (Go's `GracefulStop()`): runs the quit pipeline, then
   * Nest's own shutdown — with `app.enableShutdownHooks()`, the app closes and the
   * process exits as it would on SIGTERM. Idempotent: every caller gets the same
   * promise, which resolves with the report once the pipeline is over.
   */
  quit(reason?: string): Promise<QuitReport> {
    return this.begin('quit', { reason });
  }

  /**
   * Registers what to close at shutdown (Go's `RegisterStopFunc`, `RegisterCloser`,
   * `RegisterQuitCloser`): a function given an `AbortSignal` that aborts at its timeout,
   * an object with `close()`, or one with `shutdown(signal)`. Hooks run after the
   * transports and workers are drained and before any `onModuleDestroy`.
   *
   * A server the app made itself (`http`, `https`, `http2`, `net`, a `ws`
   * WebSocketServer, a grpc-js `Server`; listening or not yet) is not a hook: it is
   * drained in the transports phase exactly as the app's own server of that kind.
   * @returns a function that unregisters the hook (or the server)
   */
  onQuit(handler: QuitHandler | OwnServer, options?: OnQuitOptions): Unregister {
    const drainer = ownServerDrainer(handler, options, this.options);
    if (!drainer) return this.hooks.add(handler as QuitHandler, options);
    this.drainers.push(drainer);
    return () => {
      const i = this.drainers.indexOf(drainer);
      if (i >= 0) this.drainers.splice(i, 1);
    };
  }

  /**
   * Counts one run of work until `done()` is called (Go's `AddGoroutine` /
   * `DoneGoroutine`); the workers phase waits for it. Work that starts while quitting
   * has begun is still counted (a request being drained may hand work off); once the
   * workers phase is over, this throws.
   */
  trackWorker(name: string): WorkerHandle {
    return this.workers.start(name);
  }

  /**
   * Counts `work` until it settles, and returns it unchanged. Once the workers phase is
   * over it returns a rejected promise instead (nothing would wait for the work).
   */
  track<T>(work: Promise<T>, name = 'tracked promise'): Promise<T> {
    try {
      return this.workers.track(work, name);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal Adds a transport drainer for the transports phase. */
  addDrainer(drainer: TransportDrainer): void {
    this.drainers.push(drainer);
  }

  /** @internal Records a tracked-worker call refused because quitting had begun. */
  workerSkipped(name: string): void {
    this.skipped++;
    this.events.next({ type: 'worker.skipped', name, at: Date.now() });
  }

  /**
   * @internal Starts the shutdown once; later calls, whatever their trigger, join it.
   */
  begin(trigger: QuitTrigger, detail: { signal?: string; reason?: string } = {}): Promise<QuitReport> {
    if (this.running) return this.running;
    this.pipelineTrigger = trigger;
    this.pipeline = new QuitPipeline({
      options: this.options,
      trigger,
      ...detail,
      drainers: this.drainers,
      workers: this.workers,
      hooks: this.hooks,
      fire: () => this.abort.abort(new Error(`quit: ${detail.signal ?? detail.reason ?? trigger}`)),
      emit: (event) => this.events.next(event),
      skippedWorkerRuns: () => this.skipped,
      logger: this.options.logger,
    });
    // The guard is set before the pipeline starts: its first steps run synchronously
    // (fire aborts the signal, events go out), and a listener there may call quit() again.
    let settle!: (report: QuitReport) => void;
    this.running = new Promise((resolve) => (settle = resolve));
    void this.pipeline.run().then((report) => {
      this.lastReport = report;
      this.events.next({ type: 'quit.ended', at: Date.now(), report });
      settle(report);
    });
    return this.running;
  }

  /** @internal The report as of now, marked as cut short by `forced`. */
  forcedReport(forced: NonNullable<QuitReport['forced']>): QuitReport | undefined {
    const report = this.pipeline?.report(forced);
    // The pipeline was over: what kept the process was Nest's own hooks after it.
    if (report && this.lastReport) report.pending.push(QuitMessages.nestHooksPending());
    return report;
  }
}

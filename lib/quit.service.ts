import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { ownServerDrainer, type OwnServer } from './drainers/own-server.js';
import type { QuitEvent } from './interfaces/quit-event.interface.js';
import type { OnQuitOptions, QuitHandler, Unregister } from './interfaces/quit-hook.interface.js';
import type { QuitReport, QuitTrigger } from './interfaces/quit-report.interface.js';
import type { WorkerHandle } from './interfaces/tracked-worker.interface.js';
import type { QuitCoordinator } from './process/quit.coordinator.js';
import { QUIT_CORE } from './quit.constants.js';

/**
 * The quit event of one application. Inject it
 * anywhere to learn that the app is shutting down (`isQuitting`, `signal`, `events$`),
 * to register what must be closed (`onQuit`), to count work in flight
 * (`trackWorker`, `track`), or to stop the app (`quit`).
 */
@Injectable()
export class QuitService {
  readonly #core: QuitCoordinator;

  /** Every shutdown event, in order: phases started and ended, hooks, transports, the report. */
  readonly events$: Observable<QuitEvent>;

  /** @internal Nest makes it (the module's own wiring): inject `QuitService`, never construct it. */
  constructor(@Inject(QUIT_CORE) core: QuitCoordinator) {
    this.#core = core;
    this.events$ = core.events.asObservable();
  }

  /** True from the first moment of a shutdown. */
  get isQuitting(): boolean {
    return this.#core.isQuitting;
  }

  /** What a readiness check reports: false as soon as quitting begins. Liveness is not affected. */
  get isReady(): boolean {
    return !this.#core.isQuitting;
  }

  /** Aborts when quitting begins: hand it to loops, fetches and streams. */
  get signal(): AbortSignal {
    return this.#core.abort.signal;
  }

  /** What started the shutdown, once one has started. */
  get trigger(): QuitTrigger | undefined {
    return this.#core.quitTrigger;
  }

  /** The report of the shutdown: a live one while it runs, the final one once over. */
  get report(): QuitReport | undefined {
    return this.#core.report;
  }

  /**
   * Shuts the application down: runs the quit pipeline, then
   * Nest's own shutdown — with `app.enableShutdownHooks()`, the app closes and the
   * process exits as it would on SIGTERM. Idempotent: every caller gets the same
   * promise, which resolves with the report once the pipeline is over.
   */
  quit(reason?: string): Promise<QuitReport> {
    return this.#core.quit(reason);
  }

  /**
   * Registers what to close at shutdown: a function given an `AbortSignal` that aborts at its timeout,
   * an object with `close()`, or one with `shutdown(signal)`. Hooks run after the
   * transports and workers are drained and before any `onModuleDestroy`.
   *
   * A server the app made itself (`http`, `https`, `http2`, `net`, a `ws`
   * WebSocketServer, a grpc-js `Server`; listening or not yet) is not a hook: it is
   * drained in the transports phase exactly as the app's own server of that kind.
   * Registered while that phase drains, it is drained at once; once the phase is over,
   * registering one throws.
   * @returns a function that unregisters the hook (or the server, taking off the
   *   listeners the module put on it)
   */
  onQuit(handler: QuitHandler | OwnServer, options?: OnQuitOptions): Unregister {
    const drainer = ownServerDrainer(handler, options, this.#core.options);
    if (!drainer) return this.#core.hooks.add(handler as QuitHandler, options);
    return this.#core.addDrainer(drainer, true);
  }

  /**
   * Counts one run of work until `done()` is called; the workers phase waits for it. Work that starts while quitting
   * has begun is still counted (a request being drained may hand work off); once the
   * workers phase is over, this throws.
   */
  trackWorker(name: string): WorkerHandle {
    return this.#core.trackWorker(name);
  }

  /**
   * Counts `work` until it settles, and returns it unchanged. Once the workers phase is
   * over it returns a rejected promise instead (nothing would wait for the work).
   */
  track<T>(work: Promise<T>, name = 'tracked promise'): Promise<T> {
    try {
      return this.#core.workers.track(work, name);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

import { isError } from '../errors/error-message.js';
import { subscribeTo } from './subscribers.js';

export interface ProcessEventsSubscriber {
  /** While true, the hub listens to uncaught errors for it (a listener there takes away Node's crash). */
  readonly wantsErrors: boolean;
  /**
   * An uncaught exception or unhandled rejection. Returns true when it took charge of
   * it (it will end the process); false leaves it to the next subscriber, then to Node's
   * default (print and exit 1).
   */
  onUncaughtError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): boolean;
  /** `process.exit()` was called: the 'exit' event, synchronous, the last chance to report. */
  onProcessExit(code: number): void;
}

/**
 * The one place that listens to `uncaughtException` and `exit` for every Nest app in the
 * process (one listener per event whatever the number of apps: no
 * MaxListenersExceededWarning). An `uncaughtException` listener disables Node's crash,
 * so it is attached only while a subscriber wants errors, and an error nobody takes is
 * ended as Node would have. Listening to `uncaughtException` alone also covers unhandled
 * rejections: under Node's default `--unhandled-rejections=throw`, one with no
 * `unhandledRejection` listener is raised as an uncaught exception with that origin.
 */
export class ProcessEventsHub {
  private readonly subscribers = new Set<ProcessEventsSubscriber>();
  private errorsAttached = false;
  private exitAttached = false;

  constructor(
    private readonly proc: NodeJS.Process = process,
    /** How an error nobody takes ends the process. A seam for unit tests. */
    private readonly crash: (error: unknown) => void = defaultCrash,
  ) {}

  subscribe(subscriber: ProcessEventsSubscriber): () => void {
    return subscribeTo(this.subscribers, subscriber, () => this.sync());
  }

  /** Re-evaluates what to listen to (after a subscriber's `wantsErrors` changed). */
  sync(): void {
    const errors = [...this.subscribers].some((s) => s.wantsErrors);
    if (errors !== this.errorsAttached) {
      this.errorsAttached = errors;
      if (errors) this.proc.on('uncaughtException', this.onError);
      else this.proc.removeListener('uncaughtException', this.onError);
    }
    const exit = this.subscribers.size > 0;
    if (exit !== this.exitAttached) {
      this.exitAttached = exit;
      if (exit) this.proc.on('exit', this.onExit);
      else this.proc.removeListener('exit', this.onExit);
    }
  }

  private readonly onError = (error: unknown, origin: string) => {
    const kind = origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException';
    let taken = false;
    for (const s of [...this.subscribers]) taken = s.onUncaughtError(error, kind) || taken;
    if (taken) return;
    // A listener of the app's own decides for itself; with none, Node would have crashed.
    if (this.proc.listeners('uncaughtException').some((l) => l !== this.onError)) return;
    this.crash(error);
  };

  private readonly onExit = (code: number) => {
    for (const s of [...this.subscribers]) s.onProcessExit(code);
  };
}

function defaultCrash(error: unknown): void {
  process.stderr.write(`${isError(error) ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}

// One per process, like the signal hub, and shared by a CJS and an ESM copy of the package.
const KEY = Symbol.for('nestjs-quit:process-events-hub');
export const processEventsHub: ProcessEventsHub = ((globalThis as Record<symbol, ProcessEventsHub>)[KEY] ??= new ProcessEventsHub());

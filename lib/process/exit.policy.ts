import { Injectable } from '@nestjs/common';
import type { QuitEvent } from '../interfaces/quit-event.interface.js';
import type { QuitReport } from '../interfaces/quit-report.interface.js';
import { QuitMessages } from '../quit.messages.js';
import { QuitReporter } from '../quit.reporter.js';
import { QuitService } from '../quit.service.js';
import { signalHub, type SignalSubscriber } from './signal.hub.js';

/**
 * Decides how the process ends. A shutdown started by a signal, or by `quit()` with
 * shutdown hooks, "owns" the process: it must end, cleanly or not. Then a second signal
 * exits at once, the deadline exits, and a shutdown that went wrong exits with
 * `failureExitCode`. A shutdown started by `app.close()` leaves the process to its
 * caller (a test, a script) unless a signal comes meanwhile.
 */
@Injectable()
export class QuitExitPolicy implements SignalSubscriber {
  readonly signals: readonly NodeJS.Signals[];
  holding = false;
  private ownsProcess = false;
  private deadline?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(
    private readonly quit: QuitService,
    private readonly reporter: QuitReporter,
  ) {
    this.signals = quit.options.signals;
    quit.events$.subscribe((event) => this.onEvent(event));
  }

  /** Starts watching the signals (at bootstrap). */
  attach(): void {
    this.unsubscribe ??= signalHub.subscribe(this);
  }

  onSignal(signal: NodeJS.Signals, selfRaised: boolean): void {
    if (this.quit.trigger === undefined) {
      this.setOwnsProcess();
      void this.quit.begin('signal', { signal });
    } else if (selfRaised) {
      // Our own quit() closing the app through Nest's listener: not a second signal.
    } else if (this.ownsProcess) {
      this.forceExit('second-signal', QuitMessages.secondSignal(signal));
    } else {
      // app.close() was running; now the process is asked to end too.
      this.setOwnsProcess();
    }
  }

  /** After Nest's last shutdown hook: lets go of the signals and applies the exit code. */
  finish(): void {
    clearTimeout(this.deadline);
    this.holding = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (!this.ownsProcess) return;
    const report = this.quit.report;
    const code = report && !report.ok ? this.quit.options.failureExitCode : this.quit.options.exitCode;
    if (code === undefined) return; // Nest ends the process: it re-raises the signal.
    this.quit.options.logger?.log(QuitMessages.exiting(code));
    this.exit(code);
  }

  /** Ends the process. A seam for unit tests. */
  protected exit(code: number): void {
    process.exit(code);
  }

  private onEvent(event: QuitEvent): void {
    if (event.type !== 'quit.started') return;
    this.holding = true;
    signalHub.sync();
    this.deadline = setTimeout(() => this.onDeadline(), this.quit.options.timeoutMs);
    this.deadline.unref();
    if (event.trigger === 'signal') this.setOwnsProcess();
    // Deferred: Nest must see the signal after this shutdown has fully started.
    if (event.trigger === 'quit') queueMicrotask(() => this.closeApp());
  }

  /** `quit()` has no handle on the app: it raises a shutdown signal that Nest's listener takes. */
  private closeApp(): void {
    const [signal] = signalHub.handled(this.signals);
    if (!signal) {
      this.quit.options.logger?.warn(QuitMessages.noShutdownHooks());
      return;
    }
    this.setOwnsProcess();
    signalHub.raise(signal);
  }

  private setOwnsProcess(): void {
    this.ownsProcess = true;
    // From now on the deadline must fire even if nothing else keeps the process alive.
    this.deadline?.ref();
  }

  private onDeadline(): void {
    if (this.ownsProcess) this.forceExit('deadline', QuitMessages.deadline(this.quit.options.timeoutMs));
  }

  private forceExit(forced: NonNullable<QuitReport['forced']>, message: string): void {
    clearTimeout(this.deadline);
    this.quit.options.logger?.error(message);
    const report = this.quit.forcedReport(forced);
    if (report) this.reporter.logReport(report);
    this.exit(this.quit.options.failureExitCode);
  }
}

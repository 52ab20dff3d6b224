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
  /** An outside signal has been seen: the next one means "stop now". */
  private signalled = false;
  /** A signal that came before the app was bootstrapped, for the pipeline to start with. */
  private earlySignal?: NodeJS.Signals;
  /** The signal Nest will re-raise at the end: the first outside one, or the one quit() raised. */
  private endSignal?: NodeJS.Signals;
  private bootstrapped = false;
  private deadline?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(
    private readonly quit: QuitService,
    private readonly reporter: QuitReporter,
  ) {
    this.signals = quit.options.signals;
    quit.events$.subscribe((event) => this.onEvent(event));
    // From construction on, before `enableShutdownHooks()` is even called: a signal
    // during bootstrap must be seen too.
    this.unsubscribe = signalHub.subscribe(this);
  }

  /** The app is bootstrapped: from now on a signal starts the pipeline at once. */
  markBootstrapped(): void {
    this.bootstrapped = true;
  }

  /** The trigger for a shutdown that Nest starts (`onModuleDestroy`): a signal seen early, or `close()`. */
  closeTrigger(): { trigger: 'signal' | 'close'; signal?: NodeJS.Signals } {
    return this.earlySignal ? { trigger: 'signal', signal: this.earlySignal } : { trigger: 'close' };
  }

  onSignal(signal: NodeJS.Signals, selfRaised: boolean): void {
    // Our own quit() closing the app through Nest's listener is not an outside signal.
    if (selfRaised && this.quit.trigger !== undefined) return;
    if (this.signalled) {
      this.forceExit('second-signal', QuitMessages.secondSignal(signal));
      return;
    }
    this.signalled = true;
    this.endSignal ??= signal;
    this.setOwnsProcess();
    if (this.quit.trigger !== undefined) return; // joins the shutdown under way (close() or quit())
    if (this.bootstrapped) {
      void this.quit.begin('signal', { signal });
    } else {
      // Nest waits for initialization before it shuts down; the pipeline starts then,
      // with every hook and drainer known. The deadline runs from now.
      this.earlySignal = signal;
      this.armDeadline();
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
    if (code === undefined) {
      // Nest ends the process: it re-raises the signal.
      if (this.endSignal) signalHub.expectReraise(this.endSignal);
      return;
    }
    this.quit.options.logger?.log(QuitMessages.exiting(code));
    this.exit(code);
  }

  /** Ends the process. A seam for unit tests. */
  protected exit(code: number): void {
    process.exit(code);
  }

  private onEvent(event: QuitEvent): void {
    // The pipeline and the timer below measure the same deadline; whichever sees it
    // first ends the process, so the outcome does not depend on which timer fires first.
    if (event.type === 'quit.deadline') this.onDeadline();
    if (event.type !== 'quit.started') return;
    this.holding = true;
    signalHub.sync();
    this.armDeadline();
    if (event.trigger === 'signal') this.setOwnsProcess();
    // Deferred: Nest must see the signal after this shutdown has fully started.
    if (event.trigger === 'quit') queueMicrotask(() => this.closeApp());
  }

  /** `quit()` has no handle on the app: it raises a shutdown signal that Nest's listener takes. */
  private closeApp(): void {
    const [signal] = signalHub.handled(this.signals);
    if (!signal) {
      // Nothing can close the app: do not keep signals away from Node's default action,
      // and leave the process to whoever calls app.close().
      this.quit.options.logger?.warn(QuitMessages.noShutdownHooks());
      this.holding = false;
      signalHub.sync();
      return;
    }
    this.endSignal = signal;
    this.setOwnsProcess();
    signalHub.raise(signal);
  }

  private armDeadline(): void {
    if (this.deadline) return;
    this.deadline = setTimeout(() => this.onDeadline(), this.quit.options.timeoutMs);
    if (!this.ownsProcess) this.deadline.unref();
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

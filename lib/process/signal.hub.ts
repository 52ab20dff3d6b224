import { subscribeTo } from './subscribers.js';

export interface SignalSubscriber {
  /** The signals it acts on; while `holding`, the hub keeps listening to them even when nothing else does. */
  readonly signals: readonly NodeJS.Signals[];
  /** Signals it only observes, and only while something else listens to them (never held). */
  readonly watched?: readonly NodeJS.Signals[];
  /** While true, the hub keeps listening to `signals` even when nothing else does (mid-shutdown). */
  readonly holding: boolean;
  onSignal(signal: NodeJS.Signals, selfRaised: boolean): void;
}

/**
 * The one place that listens to process signals, shared by every Nest app in the
 * process (one listener per signal, whatever the number of apps: no
 * MaxListenersExceededWarning).
 *
 * Adding a listener to a signal takes away Node's default action for it (the process
 * no longer dies of it), so the hub only listens to a signal that something else
 * listens to already: Nest's `enableShutdownHooks()`, or a hand-written
 * `process.on('SIGTERM', …)`. It watches `newListener` / `removeListener` to follow
 * them, whenever `enableShutdownHooks()` is called. While an app shuts down it keeps
 * listening even after the others are gone (a hand-written handler may remove itself at
 * the first signal; Nest 11 and 12 keep theirs until the app is closed, ignoring a
 * second signal), so that a second signal is still seen; once the app is closed it lets
 * go, before Nest re-raises the signal to end the process.
 */
export class SignalHub {
  private readonly subscribers = new Set<SignalSubscriber>();
  private readonly listeners = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>();
  private raising = false;
  private watching = false;
  /** Signals Nest is about to re-raise (`process.kill`) once an app is closed, by count. */
  private readonly reraises = new Map<NodeJS.Signals, number>();

  subscribe(subscriber: SignalSubscriber): () => void {
    return subscribeTo(this.subscribers, subscriber, () => this.sync());
  }

  /** Re-evaluates which signals to listen to (after a subscriber's `holding` changed). */
  sync(): void {
    const wanted = this.wantedSignals();
    for (const signal of wanted) {
      const held = [...this.subscribers].some((s) => s.holding && s.signals.includes(signal));
      if (held || this.foreignListeners(signal) > 0) this.attach(signal);
      else this.detach(signal);
    }
    for (const signal of [...this.listeners.keys()]) if (!wanted.has(signal)) this.detach(signal);
    this.watch(this.subscribers.size > 0);
  }

  /** The signals something other than the hub listens to, among `signals`. */
  handled(signals: readonly NodeJS.Signals[]): NodeJS.Signals[] {
    return signals.filter((s) => this.foreignListeners(s) > 0);
  }

  /**
   * Delivers `signal` to every listener in this process, as a real signal would, but
   * synchronously and marked as ours: `quit()` closes the app this way through
   * Nest's own shutdown-hook listener, which is the only handle on the app there is.
   */
  raise(signal: NodeJS.Signals): void {
    this.raising = true;
    try {
      process.emit(signal, signal);
    } finally {
      this.raising = false;
    }
  }

  /**
   * An app closed by `signal` is done and Nest will now re-raise it to end the process.
   * While the hub still listens (another app in the process is shutting down), that
   * delivery is Nest's, not an outside signal: it reaches the subscribers as self-raised,
   * so that the other app does not take it for a second signal and exit at once.
   */
  expectReraise(signal: NodeJS.Signals): void {
    if (this.listeners.has(signal)) this.reraises.set(signal, (this.reraises.get(signal) ?? 0) + 1);
  }

  private wantedSignals(): Set<NodeJS.Signals> {
    return new Set([...this.subscribers].flatMap((s) => [...s.signals, ...(s.watched ?? [])]));
  }

  private foreignListeners(signal: NodeJS.Signals): number {
    const ours = this.listeners.get(signal);
    return process.listeners(signal).filter((l) => l !== ours).length;
  }

  private attach(signal: NodeJS.Signals): void {
    if (this.listeners.has(signal)) return;
    const listener = (received: NodeJS.Signals) => {
      const reraised = this.reraises.get(signal) ?? 0;
      if (reraised) this.reraises.set(signal, reraised - 1);
      const selfRaised = this.raising || reraised > 0;
      for (const s of [...this.subscribers]) {
        if (s.signals.includes(signal) || s.watched?.includes(signal)) s.onSignal(received ?? signal, selfRaised);
      }
    };
    this.listeners.set(signal, listener);
    // First in line, so a subscriber sees the signal before Nest starts closing.
    process.prependListener(signal, listener);
  }

  private detach(signal: NodeJS.Signals): void {
    const listener = this.listeners.get(signal);
    if (!listener) return;
    this.listeners.delete(signal);
    this.reraises.delete(signal);
    process.removeListener(signal, listener);
  }

  private readonly onNewListener = (event: string | symbol, listener: unknown) => {
    // Emitted before the listener is added: attach now and stay first in line.
    if (typeof event !== 'string' || this.listeners.has(event as NodeJS.Signals)) return;
    if (this.wantedSignals().has(event as NodeJS.Signals)) this.attach(event as NodeJS.Signals);
  };

  private readonly onRemoveListener = (event: string | symbol) => {
    if (typeof event === 'string' && this.listeners.has(event as NodeJS.Signals)) this.sync();
  };

  private watch(on: boolean): void {
    if (on === this.watching) return;
    this.watching = on;
    if (on) {
      process.on('newListener', this.onNewListener);
      process.on('removeListener', this.onRemoveListener);
    } else {
      process.removeListener('newListener', this.onNewListener);
      process.removeListener('removeListener', this.onRemoveListener);
    }
  }
}

// One per process: signals are process-wide. Kept on globalThis so that two copies of
// the package loaded in one process (CJS and ESM) still share it.
const KEY = Symbol.for('nestjs-quit:signal-hub');
export const signalHub: SignalHub = ((globalThis as Record<symbol, SignalHub>)[KEY] ??= new SignalHub());

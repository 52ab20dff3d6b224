import type { WorkerHandle } from '../interfaces/tracked-worker.interface.js';
import { QuitMessages } from '../quit.messages.js';

/**
 * Counts worker runs in flight, by name, and tells when none is left. A handle's
 * `done()` can be called twice; the count never goes negative.
 */
export class WorkerTracker {
  private readonly running = new Map<string, number>();
  private total = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly signal: AbortSignal) {}

  /**
   * Counts one run. Work may start while the transports drain (a request in flight
   * hands off a task): it is still counted and waited for. Only once the workers
   * phase is over does this throw, since nothing would wait for the run any more.
   */
  start(name: string): WorkerHandle {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError(QuitMessages.badWorkerName(name));
    if (this.closed) throw new Error(QuitMessages.workerAfterClose(name));
    this.running.set(name, (this.running.get(name) ?? 0) + 1);
    this.total++;
    let finished = false;
    return {
      name,
      signal: this.signal,
      done: () => {
        if (finished) return;
        finished = true;
        this.finish(name);
      },
    };
  }

  /** Counts `work` until it settles, and returns it. */
  track<T>(work: Promise<T>, name: string): Promise<T> {
    const handle = this.start(name);
    work.then(handle.done, handle.done);
    return work;
  }

  /** Names and counts of the runs still in flight, e.g. `["report-cron x1"]`. */
  pending(): string[] {
    return [...this.running].map(([name, count]) => `${name} x${count}`);
  }

  /** Resolves once no run is in flight. */
  idle(): Promise<void> {
    if (this.total === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** After the workers phase: further `start()` calls throw. */
  close(): void {
    this.closed = true;
  }

  private finish(name: string): void {
    const left = (this.running.get(name) ?? 1) - 1;
    if (left > 0) this.running.set(name, left);
    else this.running.delete(name);
    this.total--;
    if (this.total === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }
  }
}

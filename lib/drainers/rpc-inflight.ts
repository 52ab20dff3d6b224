/**
 * Counts the message handlers of one microservice server that are running, and tells
 * when none is.
 */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.count;
  }

  /** Counts one handler in; the returned function counts it out (idempotent). */
  start(): () => void {
    this.count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      // Nest ends a handler when its response stream completes, and only then, on a
      // later tick, hands the reply to the socket or the broker: count it out after that.
      setImmediate(() => {
        this.count--;
        this.check();
      });
    };
  }

  /**
   * Resolves once no handler runs. It looks only after one turn of the event loop, so
   * that a message already read from a socket, still being deserialized on its way to
   * its handler, has been counted in.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      setImmediate(() => {
        this.waiters.push(resolve);
        this.check();
      });
    });
  }

  private check(): void {
    if (this.count > 0 || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** What the queue asks of the connections it holds. */
export interface IdleQueueRule<T> {
  /**
   * When `item` may be closed, on the queue's clock, judged from its state now; undefined
   * when it is not idle (a response is owed, or it is gone): it is queued again when that
   * changes.
   */
  dueAt(item: T, now: number): number | undefined;
  /** Closes an idle item. */
  close(item: T): void;
}

/**
 * The idle connections of a drain, each looked at when it may be due rather than on
 * every sweep: a connection is pushed when its state changes (idle at the start of the
 * drain, or its last response finished) with the time it may close, and checked again
 * then. Grace windows all have one length, so connections going idle later are due
 * later: the queue is a FIFO, one array, one timer for its head, and the whole drain
 * costs a constant per state change. A connection pushed out of order (a requeue after
 * a byte arrived) is closed at most one grace late, never early.
 *
 * Closes run in the check phase, after the poll phase has read whatever bytes had
 * arrived: a request already read makes its connection busy first (the first sweep of a
 * drain waits for a poll phase after the drain's start, however it was reached). What
 * can still be reset is a request that reaches the kernel after that poll and before
 * its socket's close, so at most `CLOSES_PER_TURN` connections close per check phase,
 * the rest in the next ones: each close costs tens of microseconds (the FIN, and on
 * loopback the peer's side of it), and a long pass would widen that window for the
 * sockets closed last. A turn of the loop between passes costs a few microseconds. The
 * timer is re-armed at most once per `resolutionMs`, so that thousands of connections
 * going idle a millisecond apart share a timer.
 */
export const CLOSES_PER_TURN = 64;

export class IdleQueue<T> {
  private items: T[] = [];
  private dues: number[] = [];
  private head = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private immediate?: NodeJS.Immediate;
  private lastSweepAt = -Infinity;
  private flushing = false;
  private stopped = false;
  /** The next sweep waits for one more poll phase (see `pushAll`). */
  private pollFirst = false;

  constructor(
    private readonly rule: IdleQueueRule<T>,
    private readonly clock: () => number,
    private readonly resolutionMs: number,
  ) {}

  /** Items waiting to be looked at. */
  get size(): number {
    return this.items.length - this.head;
  }

  /**
   * Queues the connections idle when the drain starts: `overdue` ones (due already, in
   * any order) first, then `later` ones, whose due times are in any order.
   */
  pushAll(overdue: T[], later: Array<{ item: T; due: number }> = []): void {
    // Called at the signal, after a synchronous stretch (the pipeline, this drain's pass
    // over every connection) during which requests may have reached the kernel unread: no
    // close before a poll phase has read them.
    this.pollFirst = true;
    for (const item of overdue) this.append(item, -Infinity);
    later.sort((a, b) => a.due - b.due);
    for (const { item, due } of later) this.append(item, due);
    this.arm();
  }

  /** Queues an item whose state changed, to be looked at from `due` on. */
  push(item: T, due: number): void {
    this.append(item, due);
    this.arm();
  }

  /** From now on every queued item counts as due: idle ones close at once (the phase timeout). */
  flush(): void {
    this.flushing = true;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.items = [];
    this.dues = [];
    this.head = 0;
  }

  private append(item: T, due: number): void {
    if (this.stopped) return;
    this.items.push(item);
    this.dues.push(due);
  }

  private arm(): void {
    if (this.stopped || this.immediate || this.size === 0) return;
    const now = this.clock();
    const due = this.flushing ? now : this.dues[this.head];
    if (due <= now) {
      this.sweepSoon();
      return;
    }
    const at = Math.max(due, this.lastSweepAt + this.resolutionMs);
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.sweepSoon();
    }, Math.max(1, Math.ceil(at - now)));
  }

  private sweepSoon(): void {
    if (this.immediate) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.sweep();
    });
  }

  private sweep(): void {
    if (this.stopped) return;
    if (this.pollFirst) {
      // An immediate set in the check phase runs in the next turn's, after its poll phase.
      this.pollFirst = false;
      this.sweepSoon();
      return;
    }
    const now = this.clock();
    this.lastSweepAt = now;
    // Items requeued during this sweep are looked at in a later one.
    const end = this.items.length;
    let closes = 0;
    while (this.head < end && (this.flushing || this.dues[this.head] <= now)) {
      if (closes === CLOSES_PER_TURN) {
        // The rest after the next poll phase has read what arrived meanwhile.
        this.sweepSoon();
        return;
      }
      const item = this.items[this.head];
      this.items[this.head] = undefined as T; // let a closed connection go
      this.head++;
      const due = this.rule.dueAt(item, now);
      if (due === undefined) continue;
      if (due <= now || this.flushing) {
        this.rule.close(item);
        closes++;
      } else this.append(item, due);
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }
}

import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CLOSES_PER_TURN, IdleQueue } from '../lib/drainers/http/idle-queue.js';

/** A connection as the queue sees it: idle since `last` (clock ms), or busy; `closedAt` once closed. */
interface Conn {
  name: string;
  last: number;
  busy: boolean;
  closedAt?: number;
}

const GRACE = 100;

describe('IdleQueue (fake timers)', () => {
  let clock: number;
  let closed: string[];
  let looks: number;
  let timersArmed: number;
  let queue: IdleQueue<Conn>;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['performance'] });
    clock = 0;
    closed = [];
    looks = 0;
    timersArmed = 0;
    const realSetTimeout = global.setTimeout;
    jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      timersArmed++;
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout);
    queue = new IdleQueue<Conn>(
      {
        dueAt: (c) => {
          looks++;
          return c.closedAt !== undefined || c.busy ? undefined : c.last + GRACE;
        },
        close: (c) => {
          c.closedAt = clock;
          closed.push(c.name);
        },
      },
      () => clock,
      10,
    );
  });

  afterEach(() => {
    queue.stop();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  /** Moves the clock and the fake timers together, then runs the check phase. */
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock++;
      jest.advanceTimersByTime(1);
    }
    jest.advanceTimersByTime(0); // the setImmediate callbacks the timers scheduled
  };

  it('closes a connection idle longer than the grace at the start at once, the others when their grace from their last byte ends', () => {
    clock = 1_000;
    const old: Conn = { name: 'old', last: 500, busy: false };
    const recent: Conn = { name: 'recent', last: 960, busy: false };
    const newest: Conn = { name: 'newest', last: 990, busy: false };
    queue.pushAll([], [newest, old, recent].map((c) => ({ item: c, due: c.last + GRACE })));
    advance(0);
    // Not in the turn the drain started in: a poll phase must read what arrived meanwhile.
    expect(closed).toEqual([]);
    advance(1); // the next turn (the fake clock runs an immediate set by an immediate a millisecond later)
    expect(closed).toEqual(['old']);
    advance(58);
    expect(closed).toEqual(['old']);
    advance(2); // 1,061: recent is due at 1,060, with the 10 ms resolution at most 10 late
    advance(10);
    expect(closed).toEqual(['old', 'recent']);
    expect(recent.closedAt).toBeGreaterThanOrEqual(1_060);
    advance(30);
    expect(closed).toEqual(['old', 'recent', 'newest']);
    expect(newest.closedAt).toBeGreaterThanOrEqual(1_090);
  });

  it('closes the connections already overdue at the start first, each looked at again before it closes', () => {
    clock = 1_000;
    const overdue: Conn[] = Array.from({ length: 3 }, (_, i) => ({ name: `o${i}`, last: 100 * i, busy: false }));
    const recent: Conn = { name: 'recent', last: 950, busy: false };
    overdue[1].last = 999; // a byte arrived between the start of the drain and its turn
    queue.pushAll(overdue, [{ item: recent, due: recent.last + GRACE }]);
    advance(0);
    expect(closed).toEqual([]);
    advance(1);
    expect(closed).toEqual(['o0', 'o2']);
    advance(61); // recent is due at 1,050, at most one resolution (10 ms) late
    expect(closed).toEqual(['o0', 'o2', 'recent']);
    advance(50); // o1: its grace runs from when its byte was seen (1,000)
    expect(closed).toEqual(['o0', 'o2', 'recent', 'o1']);
    expect(overdue[1].closedAt).toBeGreaterThanOrEqual(1_099);
  });

  it('never closes early: a connection whose last byte moved is looked at again when its new grace ends', () => {
    const conn: Conn = { name: 'c', last: 0, busy: false };
    queue.push(conn, GRACE);
    advance(50);
    conn.last = 50; // a byte arrived
    advance(60);
    expect(closed).toEqual([]);
    advance(50);
    expect(closed).toEqual(['c']);
    expect(conn.closedAt).toBeGreaterThanOrEqual(150);
  });

  it('leaves a busy connection alone until it is pushed again', () => {
    const conn = { name: 'c', last: 0, busy: true };
    queue.push(conn, GRACE);
    advance(300);
    expect(closed).toEqual([]);
    expect(queue.size).toBe(0);
    conn.busy = false;
    conn.last = clock;
    queue.push(conn, clock + GRACE);
    advance(GRACE + 10);
    expect(closed).toEqual(['c']);
  });

  it('looks at each of 10,000 connections once per state change, with a handful of timers', () => {
    const conns = Array.from({ length: 10_000 }, (_, i) => ({ name: `c${i}`, last: 0, busy: false }));
    // They go idle one after the other over 50 ms.
    for (let i = 0; i < conns.length; i++) {
      if (i % 200 === 0 && i > 0) advance(1);
      conns[i].last = clock;
      queue.push(conns[i], clock + GRACE);
    }
    // Closes come CLOSES_PER_TURN per check phase; one phase per fake millisecond here.
    advance(GRACE + Math.ceil(10_000 / CLOSES_PER_TURN) + 20);
    expect(closed.length).toBe(10_000);
    expect(looks).toBe(10_000);
    // One timer per resolution step at most (10 ms): not one per connection.
    expect(timersArmed).toBeLessThanOrEqual(8);
  });

  it('closes at most CLOSES_PER_TURN connections per check phase, the rest in the next ones', () => {
    for (let i = 0; i < CLOSES_PER_TURN * 2 + 1; i++) queue.push({ name: `c${i}`, last: 0, busy: false }, GRACE);
    const perPhase: number[] = [];
    for (let ms = 0; ms < GRACE + 10; ms++) {
      const before = closed.length;
      advance(1);
      if (closed.length > before) perPhase.push(closed.length - before);
    }
    expect(perPhase).toEqual([CLOSES_PER_TURN, CLOSES_PER_TURN, 1]);
  });

  it('flush(): everything queued closes at once (the phase timeout)', () => {
    const a = { name: 'a', last: 0, busy: false };
    const b = { name: 'b', last: 0, busy: true };
    queue.push(a, GRACE);
    queue.push(b, GRACE);
    queue.flush();
    advance(0);
    expect(closed).toEqual(['a']);
  });

  it('stop(): nothing closes any more', () => {
    queue.push({ name: 'a', last: 0, busy: false }, GRACE);
    queue.stop();
    advance(GRACE * 2);
    expect(closed).toEqual([]);
  });
});

/**
 * Unit tests of the signal hub and the process-events hub, on a private instance each.
 * Signals are delivered with `process.emit` (synchronously, no real signal) on SIGUSR2,
 * which nothing in the test runner listens to.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { ProcessEventsHub, type ProcessEventsSubscriber } from '../lib/process/process-events.hub.js';
import { SignalHub, type SignalSubscriber } from '../lib/process/signal.hub.js';

const SIG = 'SIGUSR2' as const;

function subscriber(over: Partial<SignalSubscriber> = {}) {
  const seen: string[] = [];
  const s = { signals: [SIG] as NodeJS.Signals[], holding: false, onSignal: (signal: string, self: boolean) => void seen.push(`${signal}${self ? ' self' : ''}`), ...over };
  return { s, seen };
}

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function foreign(): () => void {
  const listener = () => undefined;
  process.on(SIG, listener);
  const off = () => void process.removeListener(SIG, listener);
  cleanups.push(off);
  return off;
}

describe('SignalHub', () => {
  it('listens to a signal only while something else does, and first in line', () => {
    const hub = new SignalHub();
    const { s, seen } = subscriber();
    cleanups.push(hub.subscribe(s));
    expect(process.listenerCount(SIG)).toBe(0); // Node's default action is left alone
    const order: string[] = [];
    const theirs = () => void order.push('theirs');
    process.on(SIG, theirs);
    cleanups.push(() => void process.removeListener(SIG, theirs));
    expect(process.listenerCount(SIG)).toBe(2);
    process.emit(SIG, SIG);
    expect(seen).toEqual([SIG]);
    expect(order).toEqual(['theirs']);
    process.removeListener(SIG, theirs);
    expect(process.listenerCount(SIG)).toBe(0);
  });

  it('while holding, keeps listening after the others are gone (a second signal is still seen); a watched signal is never held', () => {
    const hub = new SignalHub();
    const held = subscriber({ holding: true });
    const watcher = subscriber({ signals: [], watched: [SIG], holding: true });
    cleanups.push(hub.subscribe(held.s), hub.subscribe(watcher.s));
    const off = foreign();
    off();
    expect(process.listenerCount(SIG)).toBe(1);
    process.emit(SIG, SIG);
    expect(held.seen).toEqual([SIG]);
    expect(watcher.seen).toEqual([SIG]);
    (held.s as { holding: boolean }).holding = false;
    hub.sync();
    expect(process.listenerCount(SIG)).toBe(0);
  });

  it('marks its own raise() and an expected re-raise as self-raised, once', () => {
    const hub = new SignalHub();
    const { s, seen } = subscriber();
    cleanups.push(hub.subscribe(s));
    foreign();
    hub.raise(SIG);
    hub.expectReraise(SIG);
    process.emit(SIG, SIG);
    process.emit(SIG, SIG);
    expect(seen).toEqual([`${SIG} self`, `${SIG} self`, SIG]);
  });
});

describe('ProcessEventsHub', () => {
  function fakeProcess() {
    const proc = new EventEmitter();
    const crashes: unknown[] = [];
    const hub = new ProcessEventsHub(proc as unknown as NodeJS.Process, (e) => void crashes.push(e));
    return { proc, hub, crashes };
  }
  function sub(wantsErrors: boolean, takes: boolean) {
    const got: string[] = [];
    const s: ProcessEventsSubscriber = {
      wantsErrors,
      onUncaughtError: (e, origin) => (got.push(`${origin} ${(e as Error).message}`), takes),
      onProcessExit: (code) => void got.push(`exit ${code}`),
    };
    return { s, got };
  }

  it('listens to uncaughtException only while a subscriber wants errors, once whatever the number of subscribers', () => {
    const { proc, hub } = fakeProcess();
    const a = sub(false, false);
    const offA = hub.subscribe(a.s);
    expect(proc.listenerCount('uncaughtException')).toBe(0);
    expect(proc.listenerCount('exit')).toBe(1);
    const b = sub(true, true);
    const c = sub(true, true);
    const offB = hub.subscribe(b.s);
    const offC = hub.subscribe(c.s);
    expect(proc.listenerCount('uncaughtException')).toBe(1);
    proc.emit('uncaughtException', new Error('boom'), 'unhandledRejection');
    expect([b.got, c.got]).toEqual([['unhandledRejection boom'], ['unhandledRejection boom']]);
    offB();
    offC();
    offA();
    expect(proc.listenerCount('uncaughtException')).toBe(0);
    expect(proc.listenerCount('exit')).toBe(0);
  });

  it('an error nobody takes ends the process as Node would, unless the app listens itself', () => {
    const { proc, hub, crashes } = fakeProcess();
    const s = sub(true, false);
    hub.subscribe(s.s);
    proc.emit('uncaughtException', new Error('boom'), 'uncaughtException');
    expect(crashes).toHaveLength(1);
    proc.on('uncaughtException', () => undefined);
    proc.emit('uncaughtException', new Error('again'), 'uncaughtException');
    expect(crashes).toHaveLength(1);
  });
});

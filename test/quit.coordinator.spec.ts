/**
 * Unit tests of the coordinator with fake timers (the clock and `performance.now()` are
 * Jest's) and a fake process (no real signal, no real exit): every path from a trigger
 * to the exit decision, each deadline case, without waiting for real time.
 */
import 'reflect-metadata';
import type { LoggerService } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { QuitEvent, QuitReport } from '../lib/index.js';
import { QuitPipeline } from '../lib/pipeline/quit.pipeline.js';
import { decideExit } from '../lib/process/exit.decision.js';
import { QuitCoordinator, type CoordinatorProcess } from '../lib/process/quit.coordinator.js';
import { resolveQuitOptions } from '../lib/quit.options.js';
import type { QuitModuleOptions } from '../lib/interfaces/quit-options.interface.js';
import { describeEvent } from './helpers/quit.js';

/** A process that records what the coordinator asks of it. */
function fakeProcess(handled: NodeJS.Signals[] = ['SIGTERM']) {
  const calls = { exits: [] as number[], raised: [] as string[], reraises: [] as string[] };
  const hubs = { subscribed: 0 };
  const subscribe = () => {
    hubs.subscribed++;
    return () => void hubs.subscribed--;
  };
  const proc: CoordinatorProcess = {
    signals: {
      subscribe,
      sync: () => undefined,
      handled: (signals) => signals.filter((s) => handled.includes(s)),
      raise: (signal) => void calls.raised.push(signal),
      expectReraise: (signal) => void calls.reraises.push(signal),
    },
    events: { subscribe, sync: () => undefined },
    exit: (code) => void calls.exits.push(code),
  };
  return { proc, calls, hubs };
}

function setup(options: QuitModuleOptions = {}, handled?: NodeJS.Signals[]) {
  const { proc, calls, hubs } = fakeProcess(handled);
  const core = new QuitCoordinator(resolveQuitOptions({ logger: false, timeoutMs: 1_000, ...options }), proc);
  const events: string[] = [];
  let forced: QuitReport | undefined;
  core.events.subscribe((e: QuitEvent) => {
    events.push(describeEvent(e));
    if (e.type === 'quit.forced') forced = e.report;
  });
  return { core, calls, hubs, events, forced: () => forced };
}

const never = () => new Promise<void>(() => undefined);

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('QuitCoordinator: triggers and ownership', () => {
  it('a signal starts the pipeline and owns the process: a clean run ends by the re-raised signal', async () => {
    const { core, calls, events } = setup();
    core.initStarted();
    core.initFinished();
    core.onSignal('SIGTERM', false);
    expect(core.isQuitting).toBe(true);
    const report = await core.onNestDestroy(); // Nest's close joins it
    expect(report).toMatchObject({ trigger: 'signal', signal: 'SIGTERM', ok: true });
    core.finish();
    expect(calls).toEqual({ exits: [], raised: [], reraises: ['SIGTERM'] });
    expect(events.filter((e) => e.startsWith('quit.started'))).toEqual(['quit.started signal SIGTERM']);
  });

  it('app.close() alone leaves the process to its caller: no exit, even past the deadline', async () => {
    const { core, calls } = setup();
    core.hooks.add(never, { name: 'stuck', timeoutMs: 5_000 });
    void core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(calls.exits).toEqual([]);
    core.finish();
    expect(calls.exits).toEqual([]);
  });

  it('a signal after the deadline of an app.close() shutdown ends the process at once (a fired timer is not re-used)', async () => {
    const { core, calls, forced } = setup();
    core.hooks.add(never, { name: 'stuck', timeoutMs: 5_000 });
    void core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(1_500);
    expect(calls.exits).toEqual([]);
    core.onSignal('SIGTERM', false);
    expect(calls.exits).toEqual([1]);
    // The pipeline was cut at the deadline; Nest's own hooks were what still held the process.
    expect(forced()).toMatchObject({
      forced: 'deadline',
      pending: ['hooks: stuck', 'nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks still running'],
    });
  });

  it('a signal before the deadline of an app.close() shutdown arms what is left of it', async () => {
    const { core, calls } = setup();
    core.hooks.add(never, { name: 'stuck', timeoutMs: 5_000 });
    void core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(600);
    core.onSignal('SIGTERM', false);
    await jest.advanceTimersByTimeAsync(300);
    expect(calls.exits).toEqual([]);
    await jest.advanceTimersByTimeAsync(150);
    expect(calls.exits).toEqual([1]);
  });

  it('a shutdown signal outside `signals` (SIGQUIT) followed by Nest\'s close: trigger signal, owned, ended by its re-raise', async () => {
    const { core, calls } = setup();
    core.onSignal('SIGQUIT', false);
    expect(core.isQuitting).toBe(false); // not ours to act on by itself
    const report = await core.onNestDestroy();
    expect(report).toMatchObject({ trigger: 'signal', signal: 'SIGQUIT' });
    core.finish();
    expect(calls.reraises).toEqual(['SIGQUIT']);
  });

  it('a shutdown signal outside `signals` with no close after it is forgotten: a later app.close() is a close', async () => {
    const { core, calls } = setup();
    core.onSignal('SIGHUP', false);
    await jest.advanceTimersByTimeAsync(10);
    const report = await core.onNestDestroy();
    expect(report.trigger).toBe('close');
    core.finish();
    expect(calls).toEqual({ exits: [], raised: [], reraises: [] });
  });

  it('a shutdown signal outside `signals` during initialisation is kept until it is over (an application context closes only then)', async () => {
    const { core } = setup();
    core.initStarted();
    core.onSignal('SIGQUIT', false);
    await jest.advanceTimersByTimeAsync(50);
    core.initFinished();
    const report = await core.onNestDestroy();
    expect(report).toMatchObject({ trigger: 'signal', signal: 'SIGQUIT' });
  });

  it('a second signal exits at once with failureExitCode and the report of the phase cut', async () => {
    const { core, calls, forced } = setup({ failureExitCode: 3 });
    core.hooks.add(never, { name: 'stuck', timeoutMs: 500 });
    core.onSignal('SIGINT', false);
    await jest.advanceTimersByTimeAsync(100);
    core.onSignal('SIGINT', false);
    expect(calls.exits).toEqual([3]);
    expect(forced()).toMatchObject({ forced: 'second-signal', pending: ['hooks: stuck'], ok: false });
  });

  it('quit() raises the first handled signal for Nest to close the app; its own delivery is not a second signal', async () => {
    const { core, calls } = setup();
    const report = core.quit('deploy');
    await Promise.resolve();
    expect(calls.raised).toEqual(['SIGTERM']);
    core.onSignal('SIGTERM', true);
    void core.onNestDestroy();
    expect((await report).trigger).toBe('quit');
    core.finish();
    expect(calls).toEqual({ exits: [], raised: ['SIGTERM'], reraises: ['SIGTERM'] });
  });

  it('exitCode set: a clean owned shutdown exits with it; a failed one with failureExitCode', async () => {
    const clean = setup({ exitCode: 0 });
    clean.core.onSignal('SIGTERM', false);
    await clean.core.onNestDestroy();
    clean.core.finish();
    expect(clean.calls.exits).toEqual([0]);
    const failed = setup({ exitCode: 0, hookTimeoutMs: 50 });
    failed.core.hooks.add(never, { name: 'stuck' });
    failed.core.onSignal('SIGTERM', false);
    const done = failed.core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(60);
    await done;
    failed.core.finish();
    expect(failed.calls.exits).toEqual([1]);
  });
});

describe('QuitCoordinator: a logger that throws, a pipeline that rejects', () => {
  const throwingLogger = (said: string[]): LoggerService => {
    const say = (level: string) => (message: unknown) => {
      said.push(`${level} ${String(message)}`);
      throw new Error('logger down');
    };
    return { log: say('log'), warn: say('warn'), error: say('error') };
  };

  it('a signal-started shutdown whose logger throws still meets its deadline: exit failureExitCode, with the forced report', async () => {
    const said: string[] = [];
    const { core, calls, forced } = setup({ logger: throwingLogger(said), phaseTimeouts: { hooks: 5_000 } });
    core.initStarted();
    core.initFinished();
    core.hooks.add(never, { name: 'stuck', timeoutMs: 5_000 });
    core.onSignal('SIGTERM', false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls.exits).toEqual([1]);
    expect(forced()).toMatchObject({ forced: 'deadline', pending: ['hooks: stuck'], ok: false });
    expect(said).toContain('error Shutdown did not finish within the 1000 ms deadline; exiting now');
  });

  it('app.close() whose logger throws at every phase timeout and failure still settles with the report', async () => {
    const said: string[] = [];
    const { core } = setup({ logger: throwingLogger(said), phaseTimeouts: { workers: 50 } });
    core.initStarted();
    core.initFinished();
    core.trackWorker('stuck');
    core.hooks.add(() => Promise.reject(new Error('flush failed')), { name: 'flush' });
    const closing = core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(50);
    const report = await closing;
    expect(report).toMatchObject({ ok: false, pending: ['workers: stuck x1'] });
    expect(report.failures.map((f) => f.message)).toEqual(['Quit hook flush failed: flush failed']);
    expect(said).toHaveLength(2);
  });

  it('a pipeline that rejects (a bug) still settles the shutdown, with the failure in the report and quit.ended', async () => {
    const run = jest.spyOn(QuitPipeline.prototype, 'run').mockRejectedValueOnce(new Error('bug'));
    try {
      const { core, events } = setup();
      core.initStarted();
      core.initFinished();
      const report = await core.onNestDestroy();
      expect(report).toMatchObject({ ok: false, trigger: 'close' });
      expect(report.failures.map((f) => f.message)).toEqual(['The quit pipeline stopped early (a bug of nestjs-quit): bug']);
      expect(events.filter((e) => e.startsWith('report '))).toHaveLength(1);
      expect(core.report).toBe(report);
    } finally {
      run.mockRestore();
    }
  });
});

describe('QuitCoordinator: initialisation', () => {
  it('a signal during initialisation starts the pipeline once it is over; the deadline runs from the signal', async () => {
    const { core, events } = setup();
    core.initStarted();
    core.onSignal('SIGTERM', false);
    await jest.advanceTimersByTimeAsync(200);
    expect(events).toEqual([]);
    expect(core.isQuitting).toBe(false);
    core.initFinished();
    await jest.advanceTimersByTimeAsync(1);
    expect(events[0]).toBe('quit.started signal SIGTERM');
    expect(core.isQuitting).toBe(true);
  });

  it('once the app is closed nothing of it is left: no timer (the init fallback included), no hub subscription, events completed', async () => {
    const { core, calls, hubs } = setup({}, []);
    let completed = false;
    core.events.subscribe({ complete: () => void (completed = true) });
    expect(hubs.subscribed).toBe(2);
    core.initStarted();
    const closing = core.onNestDestroy(); // app.close() during initialisation: the pipeline waits for it
    core.initFinished();
    await jest.advanceTimersByTimeAsync(1);
    await closing;
    core.finish();
    expect(jest.getTimerCount()).toBe(0);
    expect(hubs.subscribed).toBe(0);
    expect(completed).toBe(true);
    expect(calls.exits).toEqual([]);
  });

  it('an initialisation that outlasts the deadline: exit 1, the report says initialisation was still running', async () => {
    const { core, calls, forced } = setup();
    core.initStarted();
    core.onSignal('SIGTERM', false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls.exits).toEqual([1]);
    expect(forced()?.pending).toEqual(['nest: onModuleInit / onApplicationBootstrap still running']);
  });

  it('app.close() after an initialisation that failed (never finishes): the pipeline runs at the deadline instead of waiting for ever', async () => {
    const { core, calls, events } = setup();
    core.initStarted();
    core.trackWorker('never-ends');
    const closing = core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(999);
    expect(events).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(events[0]).toBe('quit.started close');
    await jest.advanceTimersByTimeAsync(10); // phases with no time left still take a turn each
    const report = await closing;
    expect(report).toMatchObject({ ok: false, pending: ['workers: never-ends x1'] });
    expect(calls.exits).toEqual([]);
  });
});

describe('QuitCoordinator: uncaught errors and process.exit()', () => {
  it('outside a shutdown (init done, quitOnUncaughtError): starts one with trigger error, records it, exits failureExitCode', async () => {
    const { core, calls } = setup({}, []);
    core.initStarted();
    core.initFinished();
    expect(core.wantsErrors).toBe(true);
    expect(core.onUncaughtError(new Error('boom'), 'uncaughtException')).toBe(true);
    expect(core.quitTrigger).toBe('error');
    await jest.advanceTimersByTimeAsync(1);
    // No shutdown-hook listener to close the app: the coordinator ends the process itself.
    expect(calls.exits).toEqual([1]);
    expect(core.report).toMatchObject({ ok: false, failures: [{ source: 'uncaughtException', message: 'Uncaught exception: boom' }] });
  });

  it('with quitOnUncaughtError: false, or during initialisation, it leaves the error to Node', () => {
    const off = setup({ quitOnUncaughtError: false });
    off.core.initStarted();
    off.core.initFinished();
    expect(off.core.wantsErrors).toBe(false);
    expect(off.core.onUncaughtError(new Error('boom'), 'uncaughtException')).toBe(false);
    const booting = setup();
    booting.core.initStarted();
    expect(booting.core.wantsErrors).toBe(false);
    expect(booting.core.onUncaughtError(new Error('boom'), 'uncaughtException')).toBe(false);
  });

  it('during an app.close() shutdown: recorded against the running phase, the drain goes on, the process becomes owned', async () => {
    const { core, calls } = setup();
    let release!: () => void;
    core.hooks.add(() => new Promise<void>((r) => (release = r)), { name: 'slow' });
    const done = core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(10);
    expect(core.wantsErrors).toBe(true);
    expect(core.onUncaughtError('not an Error', 'unhandledRejection')).toBe(true);
    release();
    const report = await done;
    expect(report.failures).toMatchObject([{ phase: 'hooks', source: 'unhandledRejection', message: 'Unhandled rejection: not an Error' }]);
    expect(report.phases.map((p) => p.phase)).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks']);
    core.finish();
    expect(calls.exits).toEqual([1]);
  });

  it('an error thrown on every tick during the shutdown is recorded 20 times, not without bound', async () => {
    const { core } = setup();
    let release!: () => void;
    core.hooks.add(() => new Promise<void>((r) => (release = r)), { name: 'slow' });
    const done = core.onNestDestroy();
    await jest.advanceTimersByTimeAsync(10);
    for (let i = 0; i < 500; i++) expect(core.onUncaughtError(new Error(`tick ${i}`), 'uncaughtException')).toBe(true);
    release();
    const report = await done;
    expect(report.failures).toHaveLength(20);
    expect(report.failures.at(-1)?.message).toBe('Uncaught exception: tick 19');
  });

  it('process.exit(0) in a hook: the forced report names what was skipped and the exit code becomes failureExitCode', async () => {
    const { core, forced } = setup();
    core.hooks.add(() => undefined, { name: 'after', order: 1 });
    core.hooks.add(never, { name: 'exits', order: 0 });
    const saved = process.exitCode;
    try {
      void core.onNestDestroy();
      await jest.advanceTimersByTimeAsync(10);
      core.onProcessExit(0);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = saved;
    }
    expect(forced()).toMatchObject({
      processExitCode: 0,
      pending: ['hooks: exits', 'hooks: after', 'nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks (not run)'],
    });
  });
});

describe('decideExit', () => {
  const report = (over: Partial<QuitReport>): QuitReport => ({
    trigger: 'signal',
    startedAt: 0,
    durationMs: 1,
    phases: [],
    pending: [],
    failures: [],
    skippedWorkerRuns: 0,
    ok: true,
    ...over,
  });
  it.each([
    ['clean, exitCode unset, started by a signal', report({}), undefined, 'SIGTERM', { reraise: 'SIGTERM' }],
    ['clean, exitCode 0', report({}), 0, 'SIGTERM', { code: 0 }],
    ['clean, no signal to re-raise', report({}), undefined, undefined, { code: 0 }],
    ['not ok', report({ ok: false }), 0, 'SIGTERM', { code: 9 }],
    ['forced', report({ ok: false, forced: 'deadline' }), undefined, 'SIGTERM', { code: 9 }],
    ['no report at all', undefined, 0, undefined, { code: 9 }],
  ] as const)('%s', (_name, r, exitCode, signal, expected) => {
    expect(decideExit(r as QuitReport | undefined, { exitCode, failureExitCode: 9 }, signal)).toEqual(expected);
  });
});

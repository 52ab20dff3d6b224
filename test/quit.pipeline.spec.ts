/**
 * Unit tests of the pipeline with fake timers (Jest's clock and `performance.now()`):
 * phase order, budgets cut by the one deadline, drainers and worker sources as steps,
 * hooks that overrun (even by blocking the loop).
 */
import type { LoggerService } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { HookRegistry } from '../lib/hooks/hook.registry.js';
import type { QuitEvent } from '../lib/index.js';
import type { QuitModuleOptions } from '../lib/interfaces/quit-options.interface.js';
import type { TransportDrainer } from '../lib/interfaces/transport-drainer.interface.js';
import { QuitPipeline } from '../lib/pipeline/quit.pipeline.js';
import { resolveQuitOptions } from '../lib/quit.options.js';
import type { WorkerSource } from '../lib/workers/worker-source.interface.js';
import { WorkerTracker } from '../lib/workers/worker.tracker.js';
import { describeEvent } from './helpers/quit.js';

function setup(
  options: QuitModuleOptions = {},
  parts: { drainers?: TransportDrainer[]; sources?: WorkerSource[]; logger?: LoggerService } = {},
) {
  const resolved = resolveQuitOptions({ logger: false, ...options });
  const abort = new AbortController();
  const workers = new WorkerTracker(abort.signal);
  const hooks = new HookRegistry();
  const events: string[] = [];
  const pipeline = new QuitPipeline({
    options: resolved,
    trigger: 'close',
    deadlineAt: performance.now() + resolved.timeoutMs,
    drainers: parts.drainers ?? [],
    sources: parts.sources ?? [],
    workers,
    hooks,
    fire: () => abort.abort(),
    emit: (e: QuitEvent) => events.push(describeEvent(e)),
    skippedWorkerRuns: () => 0,
    logger: parts.logger,
  });
  return { pipeline, workers, hooks, events, abort };
}

/** A drainer whose drain ends only when told, and whose force-close can hang. */
function drainer(opts: { forceHangs?: boolean; name?: string } = {}): TransportDrainer & { finish(): void } {
  let finish!: () => void;
  const drained = new Promise<void>((r) => (finish = r));
  return {
    finish: () => finish(),
    transport: 'tcp',
    name: opts.name ?? 'tcp:test',
    stopIntake: () => undefined,
    drain: () => drained,
    forceClose: () => {
      if (opts.forceHangs) return new Promise<void>(() => undefined);
      finish(); // what closing does: the drain's promise settles right after
      return undefined;
    },
    pending: () => ['tcp:test: 1 message(s) in flight'],
  };
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('QuitPipeline', () => {
  it('runs fire → readiness → transports → workers → hooks, in order, each once', async () => {
    const { pipeline, events } = setup({ readinessDelayMs: 100 });
    const run = pipeline.run();
    await jest.advanceTimersByTimeAsync(100);
    const report = await run;
    expect(report).toMatchObject({ ok: true, pending: [], failures: [] });
    expect(events.filter((e) => e.startsWith('phase.started'))).toEqual([
      'phase.started fire',
      'phase.started readiness',
      'phase.started transports',
      'phase.started workers',
      'phase.started hooks',
    ]);
    expect(report.phases.find((p) => p.phase === 'readiness')!.durationMs).toBe(100);
  });

  it('reports a drainer force-closed at the timeout once, even when its drain settles afterwards', async () => {
    const { pipeline, events } = setup({ phaseTimeouts: { transports: 50 } }, { drainers: [drainer()] });
    const run = pipeline.run();
    await jest.advanceTimersByTimeAsync(50);
    const report = await run;
    await jest.advanceTimersByTimeAsync(10);
    expect(events.filter((e) => e.startsWith('drained'))).toEqual(['drained tcp:test forced']);
    expect(report.pending).toEqual(['transports: tcp:test: 1 message(s) in flight']);
    expect(report.failures).toEqual([]);
  });

  it('a drainer that joins while the transports phase waits is stopped at once and waited for; after the phase none can join', async () => {
    const first = drainer({ name: 'first' });
    const late = drainer({ name: 'late' });
    const { pipeline, events } = setup({ phaseTimeouts: { transports: 1_000 } }, { drainers: [first] });
    expect([pipeline.joinTransports(late), pipeline.transports]).toEqual([false, 'before']);
    const run = pipeline.run();
    await jest.advanceTimersByTimeAsync(10);
    expect(pipeline.transports).toBe('open');
    expect(pipeline.joinTransports(late)).toBe(true);
    await jest.advanceTimersByTimeAsync(10);
    first.finish();
    await jest.advanceTimersByTimeAsync(10);
    expect(events.filter((e) => e.startsWith('phase.ended transports'))).toEqual([]); // still waiting for the late one
    late.finish();
    const report = await run;
    expect(events.filter((e) => /intake-stopped|drained/.test(e))).toEqual(['intake-stopped first', 'intake-stopped late', 'drained first', 'drained late']);
    expect(report).toMatchObject({ ok: true, pending: [] });
    expect([pipeline.joinTransports(drainer({ name: 'too late' })), pipeline.transports]).toEqual([false, 'over']);
  });

  it('does not wait for ever on a force-close that hangs: reported after 1 s, the next phases still run', async () => {
    const { pipeline } = setup({ timeoutMs: 1_200, phaseTimeouts: { transports: 50 } }, { drainers: [drainer({ forceHangs: true })] });
    const run = pipeline.run();
    await jest.advanceTimersByTimeAsync(1_050);
    const report = await run;
    expect(report.failures.map((f) => f.message)).toEqual(['Force-closing tcp:test did not finish within 1 s']);
    expect(report.phases.map((p) => p.phase)).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks']);
  });

  it('a phase is cut by what is left of the one deadline, and says so (quit.deadline)', async () => {
    const { pipeline, workers, events } = setup({ timeoutMs: 300, phaseTimeouts: { workers: 10_000 } });
    workers.start('stuck');
    const run = pipeline.run();
    await jest.advanceTimersByTimeAsync(300);
    const report = await run;
    expect(events).toContain('quit.deadline workers');
    expect(report.pending).toEqual(['workers: stuck x1']);
    expect(report.phases.find((p) => p.phase === 'workers')).toMatchObject({ timedOut: true, durationMs: 300 });
  });

  it('a hook that blocks the loop past its timeout is timed out (its duration counts its synchronous part); the next hook runs', async () => {
    const { pipeline, hooks, events } = setup();
    hooks.add(() => undefined, { name: 'next', order: 1 });
    // A synchronous stretch of 500 ms on the fake clock: no timer can fire during it.
    hooks.add(() => void jest.advanceTimersByTime(500), { name: 'blocks', timeoutMs: 100 });
    const report = await pipeline.run();
    expect(events.filter((e) => e.startsWith('hook.'))).toEqual([
      'hook.started blocks',
      'hook.ended blocks timedOut',
      'hook.started next',
      'hook.ended next',
    ]);
    expect(report.failures.map((f) => f.message)).toEqual(['Quit hook blocks did not finish within 100 ms']);
    expect(report.pending).toEqual(['hooks: blocks']);
  });

  it('worker sources stop inside the fire step, synchronously; their closing is waited for in the workers phase', async () => {
    let closed!: () => void;
    const order: string[] = [];
    const source: WorkerSource = {
      name: 'queue',
      stopIntake: () => {
        order.push('stopIntake');
        return new Promise<void>((r) => (closed = r)).then(() => void order.push('closed'));
      },
    };
    const failing: WorkerSource = { name: 'broken', stopIntake: () => Promise.reject(new Error('no connection')) };
    const { pipeline, events, abort } = setup({}, { sources: [source, failing] });
    abort.signal.addEventListener('abort', () => order.push('fired'));
    const run = pipeline.run();
    expect(order).toEqual(['fired', 'stopIntake']);
    await jest.advanceTimersByTimeAsync(100);
    expect(events.at(-1)).toBe('phase.started workers');
    closed();
    const report = await run;
    expect(order).toEqual(['fired', 'stopIntake', 'closed']);
    expect(report.failures).toMatchObject([{ phase: 'workers', source: 'broken', message: 'Stopping broken failed: no connection' }]);
  });

  it('recordFailure() files an outside error against the phase running now', async () => {
    const { pipeline, hooks } = setup();
    hooks.add(() => pipeline.recordFailure('uncaughtException', 'Uncaught exception', new Error('boom')), { name: 'h' });
    const report = await pipeline.run();
    expect(report.failures).toMatchObject([{ phase: 'hooks', source: 'uncaughtException', message: 'Uncaught exception: boom' }]);
    expect(report.ok).toBe(false);
  });

  it('a logger that throws does not stop the run: every phase still runs, every failure is recorded, run() resolves', async () => {
    const calls: string[] = [];
    const throwing = (level: string) => (message: unknown) => {
      calls.push(`${level} ${String(message)}`);
      throw new Error('logger down');
    };
    const logger: LoggerService = { log: throwing('log'), warn: throwing('warn'), error: throwing('error') };
    const failing: TransportDrainer = { ...drainer(), drain: () => Promise.reject(new Error('socket gone')) };
    const { pipeline, hooks, workers } = setup({ phaseTimeouts: { workers: 50 } }, { drainers: [failing], logger });
    hooks.add(() => {
      throw new Error('flush failed');
    }, { name: 'flush' });
    workers.start('stuck');
    const run = pipeline.run();
    await jest.advanceTimersByTimeAsync(50);
    const report = await run;
    expect(report.phases.map((p) => p.phase)).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks']);
    expect(report.failures.map((f) => f.message)).toEqual(['Draining tcp:test failed: socket gone', 'Quit hook flush failed: flush failed']);
    expect(report.pending).toEqual(['workers: stuck x1']);
    expect(calls).toEqual([
      'error Draining tcp:test failed: socket gone',
      'warn Phase "workers" did not finish within 50 ms; still pending: stuck x1',
      'error Quit hook flush failed: flush failed',
    ]);
  });
});

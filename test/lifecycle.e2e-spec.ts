import { describe, expect, it } from '@jest/globals';
import { Child, childStarter } from './helpers/child.js';
import { get } from './helpers/http.js';

const startChild = childStarter();
const start = (env: Record<string, string> = {}) => startChild('lifecycle.app', env);

const OK_REPORT = 'report {"ok":true,"pending":[],"failures":[]}';

/** What every clean run must show: the drain and the hooks strictly before Nest's own hooks. */
const CLEAN_ORDER = [
  'phase.fire',
  'phase.readiness',
  'phase.transports',
  'request.end',
  'phase.workers',
  'worker.end',
  'phase.hooks',
  'hook.flush',
  OK_REPORT,
  'pool.destroy',
  'hooks.destroy',
];

/** Starts a request and a worker run that both stay in flight until quitting begins. */
async function inFlight(app: Child, port: number) {
  const request = get(port, '/slow?ms=300');
  await get(port, '/work?ms=450');
  await app.waitFor('ev:request.start');
  await app.waitFor('ev:worker.start');
  return { request };
}

/** The shutdown's own events, without the start-up ones. */
const shutdownEvents = (app: Child) =>
  app.events().filter((e) => !['listening', 'request.start', 'worker.start'].includes(e) && !e.startsWith('quit.started'));

describe('the quit pipeline runs before any onModuleDestroy', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s: the request and the worker in flight finish while the pool is open, then hooks, then onModuleDestroy',
    async (signal) => {
      const app = start();
      const port = await app.ready();
      const { request } = await inFlight(app, port);
      app.kill(signal);
      const reply = await request;
      const exit = await app.exited;
      expect(reply).toMatchObject({ status: 200, body: 'done' });
      expect(shutdownEvents(app)).toEqual(CLEAN_ORDER);
      // Nest re-raises the signal once closed: the process dies of it, as it would without the module.
      expect(exit).toMatchObject({ code: null, signal });
    },
  );

  it('on app.close(): the same order, and the process is left to its owner', async () => {
    const app = start({ EXIT_AFTER_CLOSE: '1' });
    const port = await app.ready();
    const { request } = await inFlight(app, port);
    const close = get(port, '/close?then=exit');
    const reply = await request;
    const exit = await app.exited;
    expect(await close).toMatchObject({ status: 200 });
    expect(reply).toMatchObject({ status: 200, body: 'done' });
    expect(shutdownEvents(app)).toEqual([...CLEAN_ORDER, 'closed', 'exit 0']);
    expect(exit.code).toBe(0);
  });

  it('on quit.quit(): the same order, then the app closes through its shutdown hooks', async () => {
    const app = start();
    const port = await app.ready();
    const { request } = await inFlight(app, port);
    await get(port, '/quit');
    const reply = await request;
    const exit = await app.exited;
    expect(reply).toMatchObject({ status: 200, body: 'done' });
    expect(shutdownEvents(app)).toEqual(CLEAN_ORDER);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(app.lines.some((l) => l.includes('Shutting down (quit: requested)'))).toBe(true);
  });

  it('with exitCode set, a clean signal shutdown exits with it', async () => {
    const app = start({ QUIT_OPTIONS: JSON.stringify({ exitCode: 0 }) });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    // One assertion on both, so that a failure shows the whole picture.
    expect({ code: exit.code, events: app.events() }).toEqual({
      code: 0,
      events: expect.arrayContaining(['quit.started signal SIGTERM', 'pool.destroy', 'hooks.destroy', 'exit 0']),
    });
    expect(app.events().slice(-3)).toEqual(['pool.destroy', 'hooks.destroy', 'exit 0']);
  });
});

/** A shutdown with nothing in flight whose first hook misbehaves: the rest goes on, exit 1. */
const misbehavingHookRun = (mode: string, report: string) => [
  'phase.fire',
  'phase.readiness',
  'phase.transports',
  'phase.workers',
  'phase.hooks',
  `hook.${mode}`,
  'hook.flush',
  report,
  'pool.destroy',
  'hooks.destroy',
  'exit 1',
];

describe('process policy', () => {
  it('a hanging hook ends at its timeout, the next hook still runs, the report names it, exit is non-zero', async () => {
    const app = start({ HOOK: 'hang' });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(shutdownEvents(app)).toEqual(misbehavingHookRun('hang', 'report {"ok":false,"pending":["hooks: Hooks@misbehave"],"failures":["Hooks@misbehave"]}'));
    expect(exit.code).toBe(1);
    expect(app.output()).toContain('Quit hook Hooks@misbehave did not finish within 300 ms');
    // Cut at the hook's 300 ms timeout, not at the 5 s deadline.
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(exit.elapsedMs).toBeLessThan(3_000);
  });

  it('a throwing hook does not stop the next one; the failure is reported and the exit is non-zero', async () => {
    const app = start({ HOOK: 'throw' });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(shutdownEvents(app)).toEqual(misbehavingHookRun('throw', 'report {"ok":false,"pending":[],"failures":["Hooks@misbehave"]}'));
    expect(exit.code).toBe(1);
    expect(app.output()).toContain('Quit hook Hooks@misbehave failed: hook exploded');
  });

  it('a second SIGINT during the shutdown exits at once, non-zero, with the report', async () => {
    const app = start({ HOOK: 'hang', HOOK_TIMEOUT_MS: '10000' });
    await app.ready();
    app.kill('SIGINT');
    await app.waitFor('ev:hook.hang');
    app.kill('SIGINT');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.output()).toContain('Received SIGINT again while shutting down; exiting now');
    expect(app.output()).toMatch(/Shutdown failed after [\d.]+ ms \(signal SIGINT, forced: second-signal\)/);
    expect(app.events()).not.toContain('pool.destroy');
    expect(app.events().at(-1)).toBe('exit 1');
  });

  it('a hook still running at the deadline: the process exits then, non-zero, naming the hooks left', async () => {
    const app = start({ HOOK: 'hang', HOOK_TIMEOUT_MS: '10000', QUIT_OPTIONS: JSON.stringify({ timeoutMs: 600 }) });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect({ code: exit.code, last: app.events().slice(-3) }).toEqual({
      code: 1,
      last: ['hook.hang', 'forced {"ok":false,"pending":["hooks: Hooks@misbehave","hooks: Hooks@flush"],"failures":[],"forced":"deadline"}', 'exit 1'],
    });
    expect(app.output()).toContain('Shutdown did not finish within the 600 ms deadline; exiting now');
    expect(app.output()).toMatch(/forced: deadline\)\n(.*\n)*  hooks +[\d.]+ ms +cut \(deadline\) +Hooks@misbehave\n +Hooks@flush\b/);
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(600);
    expect(exit.elapsedMs).toBeLessThan(3_000);
  });

  it('app.close() with a hook still running at the deadline: the pipeline is cut, the caller keeps the process', async () => {
    const app = start({ HOOK: 'hang', HOOK_TIMEOUT_MS: '10000', QUIT_OPTIONS: JSON.stringify({ timeoutMs: 600 }) });
    const port = await app.ready();
    await get(port, '/close?then=exit');
    const exit = await app.exited;
    expect(exit.code).toBe(0);
    expect(app.events().slice(-6)).toEqual([
      'hook.hang',
      'report {"ok":false,"pending":["hooks: Hooks@misbehave","hooks: Hooks@flush"],"failures":["Hooks@misbehave","Hooks@flush"]}',
      'pool.destroy',
      'hooks.destroy',
      'closed',
      'exit 0',
    ]);
    expect(app.output()).toContain('Quit hook Hooks@flush did not run: the hooks phase ran out of time');
  });

  it('when an onModuleDestroy hangs, the process exits non-zero at the deadline and says what was pending', async () => {
    const app = start({ POOL_DESTROY: 'hang', QUIT_OPTIONS: JSON.stringify({ timeoutMs: 600 }) });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    // Nest calls one module's onModuleDestroy hooks together: both started, neither stops the other.
    expect(app.events().slice(-4, -2).sort()).toEqual(['hooks.destroy', 'pool.destroy']);
    expect(app.events().slice(-2)).toEqual([
      'forced {"ok":false,"pending":["nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks still running"],"failures":[],"forced":"deadline"}',
      'exit 1',
    ]);
    expect(app.output()).toContain('Shutdown did not finish within the 600 ms deadline; exiting now');
    expect(app.output()).toMatch(/forced: deadline\)\n(.*\n)*  nest +cut \(deadline\) +onModuleDestroy \//);
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(600);
    expect(exit.elapsedMs).toBeLessThan(3_000);
  });
});

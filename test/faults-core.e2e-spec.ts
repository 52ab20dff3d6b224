/**
 * The fault matrix's process-core rows (issue 12, docs/RELIABILITY.md): whatever starts
 * the shutdown, it obeys the deadline. Each cell is a real child process getting real
 * signals; each asserts the exit code, that the process exits by itself within the
 * deadline, what the report names, and that nothing in flight was lost.
 */
import { describe, expect, it } from '@jest/globals';
import { Child, childStarter } from './helpers/child.js';
import { get } from './helpers/http.js';
import { waitFor } from './helpers/quit.js';

const start = childStarter();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const DEADLINE = 3_000;
const lifecycle = (env: Record<string, string> = {}, options: object = {}) =>
  start('lifecycle.app', { ...env, QUIT_OPTIONS: JSON.stringify({ timeoutMs: DEADLINE, ...options }) });

/** The report printed at the end of the pipeline, or the one printed when the process was forced out. */
const line = (app: Child, prefix: 'report' | 'forced') => {
  const found = app.events().find((e) => e.startsWith(`${prefix} `));
  if (!found) throw new Error(`no ${prefix} line; got:\n${app.output()}`);
  return JSON.parse(found.slice(prefix.length + 1));
};
const NEST_HOOKS = 'nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks still running';

/** Starts `n` requests held until quitting begins, and waits until all are in the handler. */
async function inFlight(app: Child, port: number, paths: string[]) {
  const replies = paths.map((p) => get(port, p).catch((e: Error) => e));
  await waitFor(() => app.events().filter((e) => e === 'request.start').length === paths.length, `${paths.length} requests in the handler`);
  return replies;
}

describe('every shutdown obeys the deadline, whatever started it', () => {
  it.each(['SIGQUIT', 'SIGHUP'] as const)(
    '%s (Nest listens to it, `signals` does not list it) and an onModuleDestroy that hangs: exit 1 at the deadline, naming Nest\'s hooks',
    async (signal) => {
      const app = lifecycle({ POOL_DESTROY: 'hang' }, { timeoutMs: 800 });
      const port = await app.ready();
      const [request] = await inFlight(app, port, ['/slow?ms=200']);
      app.kill(signal);
      expect(await request).toMatchObject({ status: 200, body: 'done' });
      const exit = await app.exited;
      expect(exit.code).toBe(1);
      expect(app.events()).toContain(`quit.started signal ${signal}`);
      expect(line(app, 'report')).toEqual({ ok: true, pending: [], failures: [] });
      expect(line(app, 'forced')).toEqual({ ok: false, pending: [NEST_HOOKS], failures: [], forced: 'deadline' });
      expect(app.output()).toContain('Shutdown did not finish within the 800 ms deadline; exiting now');
      expect(exit.elapsedMs).toBeGreaterThanOrEqual(800);
      expect(exit.elapsedMs).toBeLessThan(DEADLINE + 2_000);
    },
  );

  it('app.close() with an onModuleDestroy hanging past the deadline, then SIGTERM: the process ends at once, exit 1', async () => {
    const app = lifecycle({ POOL_DESTROY: 'hang' }, { timeoutMs: 800 });
    const port = await app.ready();
    const [request] = await inFlight(app, port, ['/slow?ms=100']);
    await get(port, '/close');
    expect(await request).toMatchObject({ status: 200, body: 'done' });
    await app.waitFor('ev:pool.destroy');
    // The deadline passes while app.close() leaves the process to its caller: it stays up.
    await sleep(1_500);
    expect(app.events().some((e) => e.startsWith('exit') || e.startsWith('forced'))).toBe(false);
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(line(app, 'forced')).toEqual({ ok: false, pending: [NEST_HOOKS], failures: [], forced: 'deadline' });
    expect(exit.elapsedMs).toBeLessThan(1_000);
  });

  it('a @TrackedWorker() run started from an onModuleInit is waited for: it ends before the hooks and the pool close', async () => {
    const app = lifecycle({ INIT_WORKER_MS: '300' });
    await app.ready();
    await app.waitFor('ev:initworker.start');
    app.kill('SIGTERM');
    const exit = await app.exited;
    const events = app.events();
    expect(events).toContain('initworker.end');
    expect(events.filter((e) => e.startsWith('initworker.failed'))).toEqual([]);
    expect(events.indexOf('initworker.end')).toBeLessThan(events.indexOf('phase.hooks'));
    expect(events.indexOf('phase.workers')).toBeLessThan(events.indexOf('initworker.end'));
    expect(line(app, 'report')).toEqual({ ok: true, pending: [], failures: [] });
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('QuitModule.forRoot() imported in two modules: startup fails at once, naming both', async () => {
    const app = lifecycle({ TWICE: '1' });
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.lines.some((l) => l.startsWith('ready'))).toBe(false);
    expect(app.output()).toContain('QuitModule.forRoot() is imported more than once (AppModule and OtherModule)');
    expect(exit.elapsedMs).toBeLessThan(15_000);
  });

  it('a quit hook that blocks the event loop past its timeout is reported timed out; the next hook runs; exit 1', async () => {
    const app = lifecycle({ HOOK: 'block', BLOCK_MS: '1000', HOOK_TIMEOUT_MS: '300' });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    const events = app.events();
    expect(events.slice(events.indexOf('phase.hooks'))).toEqual([
      'phase.hooks',
      'hook.block',
      'hook.unblocked',
      'hook.flush',
      'report {"ok":false,"pending":["hooks: Hooks@misbehave"],"failures":["Hooks@misbehave"]}',
      'pool.destroy',
      'hooks.destroy',
      'exit 1',
    ]);
    expect(app.output()).toContain('Quit hook Hooks@misbehave did not finish within 300 ms');
    expect(exit.elapsedMs).toBeLessThan(DEADLINE);
  });

  it.each([
    ['throw', 'uncaughtException', 'Uncaught exception'],
    ['reject', 'unhandledRejection', 'Unhandled rejection'],
  ])('an error nobody catches during the drain (%s): logged, recorded, all 8 requests in flight answered, exit 1', async (kind, origin, said) => {
    const app = lifecycle();
    const port = await app.ready();
    const paths = [...Array.from({ length: 7 }, () => '/slow?ms=300'), `/slow?ms=300&crash=${kind}`];
    const replies = await inFlight(app, port, paths);
    app.kill('SIGTERM');
    const answered = await Promise.all(replies);
    expect(answered.map((r) => ('status' in r ? r.status : (r as NodeJS.ErrnoException).code))).toEqual(Array(8).fill(200));
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.events()).toContain(`crash.${kind}`);
    expect(line(app, 'report')).toEqual({ ok: false, pending: [], failures: [origin] });
    expect(app.output()).toContain(`${said} during the shutdown (recorded; the drain goes on, the exit will be non-zero)`);
    expect(app.events().slice(-3)).toEqual(['pool.destroy', 'hooks.destroy', 'exit 1']);
    expect(exit.elapsedMs).toBeLessThan(DEADLINE);
  });

  it.each([
    ['throw', 'uncaughtException'],
    ['reject', 'unhandledRejection'],
  ])('an error nobody catches while serving (%s) starts the shutdown (trigger error): 8 requests in flight answered, exit 1', async (kind, origin) => {
    const app = lifecycle();
    const port = await app.ready();
    const replies = await inFlight(app, port, Array.from({ length: 8 }, () => '/slow?ms=200'));
    await get(port, `/crash?kind=${kind}`);
    const answered = await Promise.all(replies);
    expect(answered.map((r) => ('status' in r ? r.status : (r as NodeJS.ErrnoException).code))).toEqual(Array(8).fill(200));
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.events().filter((e) => e.startsWith('quit.started'))).toEqual(['quit.started error']);
    expect(line(app, 'report')).toEqual({ ok: false, pending: [], failures: [origin] });
    expect(app.events().slice(-3)).toEqual(['pool.destroy', 'hooks.destroy', 'exit 1']);
  });

  it('with quitOnUncaughtError: false, an error nobody catches kills the process at once (Node\'s default)', async () => {
    const app = lifecycle({}, { quitOnUncaughtError: false });
    const port = await app.ready();
    const [request] = await inFlight(app, port, ['/slow?ms=200']);
    await get(port, '/crash?kind=throw');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.events().filter((e) => e.startsWith('quit.started'))).toEqual([]);
    expect(app.output()).toContain('thrown, never caught');
    expect(await request).toMatchObject({ code: 'ECONNRESET' });
  });

  it('a quit hook that calls process.exit(0): the log names what was skipped, the report is printed, exit 1', async () => {
    const app = lifecycle({ HOOK: 'exit' });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    const skipped = ['hooks: Hooks@misbehave', 'hooks: Hooks@flush', 'nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks (not run)'];
    expect(app.output()).toContain(`process.exit(0) was called before the shutdown finished; skipped: ${skipped.join('; ')}`);
    expect(line(app, 'forced')).toEqual({ ok: false, pending: skipped, failures: [], processExitCode: 0 });
    expect(app.events().slice(-2)).toEqual([`forced ${JSON.stringify({ ok: false, pending: skipped, failures: [], processExitCode: 0 })}`, 'exit 1']);
    expect(app.events()).not.toContain('hook.flush');
  });

  it('SIGTERM during a slow onModuleInit: initialisation finishes before the pipeline closes anything', async () => {
    const app = lifecycle({ INIT_DELAY_MS: '1200' });
    await app.waitFor('ev:init.start');
    await sleep(300);
    app.kill('SIGTERM');
    const exit = await app.exited;
    const events = app.events();
    expect(events.slice(0, 3)).toEqual(['init.start', 'init.end', 'listening']);
    expect(events.filter((e) => e.startsWith('quit.started'))).toEqual(['quit.started signal SIGTERM']);
    expect(events.indexOf('init.end')).toBeLessThan(events.indexOf('phase.fire'));
    expect(events.slice(-2)).toEqual(['pool.destroy', 'hooks.destroy']);
    expect(line(app, 'report')).toEqual({ ok: true, pending: [], failures: [] });
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(exit.elapsedMs).toBeLessThan(DEADLINE + 1_500);
  });
});

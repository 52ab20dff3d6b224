/**
 * The fault matrix (docs/RELIABILITY.md): each cell a real child process getting real
 * signals. Each asserts the exit code, that the process exits by itself within the
 * deadline, what the report names, and that nothing accepted was lost.
 */
import { describe, expect, it } from '@jest/globals';
import { Child, childStarter } from './helpers/child.js';
import { get } from './helpers/http.js';

const start = childStarter();

/** Deadline of every cell, so that "exits by itself within the deadline" is checked. */
const DEADLINE = 3_000;
const lifecycle = (env: Record<string, string> = {}, options: object = {}) =>
  start('lifecycle.app', { ...env, QUIT_OPTIONS: JSON.stringify({ timeoutMs: DEADLINE, ...options }) });

const report = (app: Child) => JSON.parse(app.events().find((e) => e.startsWith('report '))!.slice('report '.length));

describe('fault matrix', () => {
  it('a hook that rejects after its timeout: reported as a timeout, later rejection harmless, exit 1', async () => {
    const app = lifecycle({ HOOK: 'late-reject' });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(report(app)).toEqual({ ok: false, pending: ['hooks: Hooks@misbehave'], failures: ['Hooks@misbehave'] });
    expect(app.output()).not.toContain('rejected after its timeout');
    expect(exit.elapsedMs).toBeLessThan(DEADLINE);
  });

  it('a tracked worker that never finishes: cut at the workers timeout, named, hooks still run, exit 1', async () => {
    const app = lifecycle({}, { phaseTimeouts: { workers: 300 } });
    const port = await app.ready();
    await get(port, '/work?ms=-1');
    await app.waitFor('ev:worker.start');
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(report(app)).toEqual({ ok: false, pending: ['workers: Jobs@run x1'], failures: [] });
    expect(app.events()).toContain('hook.flush');
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(exit.elapsedMs).toBeLessThan(DEADLINE);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('a second %s during the drain exits at once with code 1 and the report', async (signal) => {
    const app = lifecycle();
    const port = await app.ready();
    const request = get(port, '/slow?ms=2000').catch((e: Error) => e);
    await app.waitFor('ev:request.start');
    app.kill(signal);
    await app.waitFor('ev:phase.transports');
    app.kill(signal);
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.output()).toContain(`Received ${signal} again while shutting down; exiting now`);
    // The report names the phase that was cut and what it still waited for.
    expect(app.output()).toMatch(
      new RegExp(`Shutdown failed after [\\d.]+ ms \\(signal ${signal}, forced: second-signal\\)\n[^\\n]*\n(.*\n)*  transports +[\\d.]+ ms +cut \\(second-signal\\) +http:\\d+: 1 request`),
    );
    expect(app.events()).not.toContain('request.end');
    expect(exit.elapsedMs).toBeLessThan(1_500);
    // The forced exit cut the request: the client sees it, nothing is pretended.
    expect(await request).toMatchObject({ code: 'ECONNRESET' });
  });

  // Two *identical* standard signals sent back to back may reach the process as one (the
  // kernel keeps one pending instance per signal), so the cell sends two different ones.
  it('two signals in quick succession (SIGTERM, SIGINT): the second forces the exit', async () => {
    const app = lifecycle();
    const port = await app.ready();
    const request = get(port, '/slow?ms=2000').catch((e: Error) => e);
    await app.waitFor('ev:request.start');
    app.kill('SIGTERM');
    app.kill('SIGINT');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    // Both pending at once, the kernel delivers them by signal number: either may come first.
    expect(app.output()).toMatch(/Received SIG(INT|TERM) again while shutting down; exiting now/);
    expect(await request).toMatchObject({ code: 'ECONNRESET' });
  });

  // Nest 12's HTTP app does not wait for initialisation before it closes: the module does.
  // The bootstrap ends (the server listens), then the pipeline drains it as usual.
  it('a signal during bootstrap: initialisation finishes first, then the pipeline runs once, with the signal as trigger', async () => {
    const app = lifecycle({ BOOT_DELAY_MS: '400' });
    await app.waitFor('ev:booting');
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(app.events().filter((e) => !e.startsWith('report'))).toEqual([
      'booting',
      'booted',
      'listening',
      'quit.started signal SIGTERM',
      'phase.fire',
      'phase.readiness',
      'phase.transports',
      'phase.workers',
      'phase.hooks',
      'hook.flush',
      'pool.destroy',
      'hooks.destroy',
    ]);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('quit(), app.close() and a SIGTERM in one tick: one pipeline run, everything drained, a clean exit', async () => {
    const app = lifecycle();
    const port = await app.ready();
    const request = get(port, '/slow?ms=200');
    await app.waitFor('ev:request.start');
    await get(port, '/race');
    const exit = await app.exited;
    expect(await request).toMatchObject({ status: 200, body: 'done' });
    expect(app.events().filter((e) => e.startsWith('quit.started') || e === 'phase.fire')).toEqual([
      'quit.started quit',
      'phase.fire',
    ]);
    expect(report(app)).toEqual({ ok: true, pending: [], failures: [] });
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('a handler that throws while shutting down gets its 500 answer; the drain and the exit go on', async () => {
    const app = lifecycle();
    const port = await app.ready();
    const failing = get(port, '/slow?ms=100&fail=1');
    const fine = get(port, '/slow?ms=150');
    await app.waitFor(/ev:request.start/);
    await new Promise((r) => setTimeout(r, 20));
    expect(app.events().filter((e) => e === 'request.start')).toHaveLength(2);
    app.kill('SIGTERM');
    expect(await failing).toMatchObject({ status: 500 });
    expect(await fine).toMatchObject({ status: 200, body: 'done' });
    const exit = await app.exited;
    expect(report(app)).toEqual({ ok: true, pending: [], failures: [] });
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('two apps in one process: the signal Nest re-raises for the first one closed is not a second signal for the other', async () => {
    const app = start('two-apps');
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    // A closes while B's hook runs (the two shut down side by side); B then finishes whole.
    expect(app.events().slice(0, 2).sort()).toEqual(['a.destroy', 'b.hook.start']);
    expect(app.events().slice(2)).toEqual(['b.hook.end', 'b.destroy']);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('several apps in one process: no listener left behind, no MaxListenersExceededWarning', async () => {
    const app = start('multi-app', { APPS: '15', CONCURRENT: '12' });
    const exit = await app.exited;
    expect(exit.code).toBe(0);
    const before = app.lines.find((l) => l.startsWith('before '))!.slice(7);
    expect(app.lines.find((l) => l.startsWith('after '))!.slice(6)).toBe(before);
    expect(app.lines).toContain('warnings []');
  });

  it.each([
    [{ timeoutMs: 0 }, 'QuitModule option "timeoutMs" is invalid: got 0'],
    [{ readinessDelayMs: 'soon' }, 'QuitModule option "readinessDelayMs" is invalid: got "soon"'],
    [{ phaseTimeouts: { drain: 5 } }, 'QuitModule option "phaseTimeouts.drain" is invalid: got 5'],
    [{ signals: ['SIGKILL'] }, 'QuitModule option "signals[0]" is invalid: got "SIGKILL"'],
    [{ failureExitCode: 1.5 }, 'QuitModule option "failureExitCode" is invalid: got 1.5'],
    [{ http: { idleGraceMs: -1 } }, 'QuitModule option "http.idleGraceMs" is invalid: got -1'],
  ])('rejects %j at startup, naming the option', async (options, message) => {
    const app = start('bad-options.app', { QUIT_OPTIONS: JSON.stringify(options) });
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.lines).not.toContain('started');
    expect(app.output()).toContain(`QuitOptionsError: ${message}`);
  });
});

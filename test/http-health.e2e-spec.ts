import { afterEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Child, fixture } from './helpers/child.js';

const children: Child[] = [];
afterEach(() => children.splice(0).forEach((c) => c.stop()));

function get(port: number, path: string, agent: http.Agent | false = false) {
  return new Promise<{ status: number; json: any; connection?: string; reused: boolean }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let json: unknown = body;
        try {
          json = JSON.parse(body);
        } catch {
          /* plain text */
        }
        resolve({ status: res.statusCode ?? 0, json, connection: res.headers.connection, reused: req.reusedSocket });
      });
    });
    req.on('error', reject);
  });
}

describe.each(['express', 'fastify'])('readiness (%s)', (platform) => {
  it('reports "shutting down" from the first moment of quitting, liveness unchanged, and serves normally during readinessDelayMs', async () => {
    const app = new Child(fixture('http-health.app'), { PLATFORM: platform, QUIT_OPTIONS: JSON.stringify({ readinessDelayMs: 1_000 }) });
    children.push(app);
    const port = await app.ready();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(port, '/health/ready');
    await get(port, '/ping', agent);

    app.kill('SIGTERM');
    await app.waitFor('ev:phase.readiness');
    const ready = await get(port, '/health/ready');
    const live = await get(port, '/health/live');
    const freshAgent = new http.Agent({ keepAlive: true });
    const fresh = await get(port, '/ping', freshAgent);
    const kept = await get(port, '/ping', agent);
    const exit = await app.exited;
    agent.destroy();
    freshAgent.destroy();

    expect(before).toMatchObject({ status: 200, json: { status: 'ok', info: { shutdown: { status: 'up' } } } });
    expect(ready).toMatchObject({ status: 503, json: { status: 'error', error: { shutdown: { status: 'down', message: 'shutting down' } } } });
    expect(live).toMatchObject({ status: 200, json: { status: 'ok', info: { process: { status: 'up' } } } });
    // Served normally: a new connection is accepted, keep-alive is kept.
    expect(fresh).toMatchObject({ status: 200, json: 'pong', connection: 'keep-alive', reused: false });
    expect(kept).toMatchObject({ status: 200, json: 'pong', connection: 'keep-alive', reused: true });
    // All of it happened inside the readiness delay, before the transports phase.
    expect(app.events()).toEqual(['ping ready', 'phase.fire', 'phase.readiness', 'ping not-ready', 'ping not-ready', 'phase.transports', 'phase.workers', 'phase.hooks', 'quit.ended']);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });
});

/**
 * Polls `GET /health/ready` on new connections every 20 ms until the app exits, and once
 * after; each answer is its status code, or `closed` once nothing listens (refused or reset). Times are
 * from the start of polling.
 */
async function pollReady(app: Child, port: number) {
  const seen: Array<{ result: number | 'closed'; at: number }> = [];
  let exited = false;
  void app.exited.then(() => (exited = true));
  const start = Date.now();
  const poll = async () => {
    const result = await get(port, '/health/ready').then(
      (r) => r.status,
      // A connection still in the listen backlog when the listener closes is reset, not refused.
      (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? ('closed' as const) : Promise.reject(e)),
    );
    seen.push({ result, at: Date.now() - start });
  };
  for (let i = 0; i < 1_000 && !exited; i++) {
    await poll();
    await new Promise((r) => setTimeout(r, 20));
  }
  const exit = await app.exited;
  // Once more after the exit, so that the last answer is there even when the process
  // left between two polls.
  await poll();
  // Runs of the same answer, in order: e.g. "503 closed".
  const runs = seen.map((s) => String(s.result)).filter((r, i, all) => r !== all[i - 1]);
  const firstClosedAt = seen.find((s) => s.result === 'closed')?.at;
  return { runs: runs.join(' '), seen, firstClosedAt, exit, exitAt: Date.now() - start };
}

describe("readinessDelayMs and terminus's gracefulShutdownTimeoutMs (express)", () => {
  function start(quit: object, terminusGraceMs?: number) {
    const env: Record<string, string> = { PLATFORM: 'express', QUIT_OPTIONS: JSON.stringify(quit) };
    if (terminusGraceMs !== undefined) env.TERMINUS_GRACE_MS = String(terminusGraceMs);
    const app = new Child(fixture('http-health.app'), env);
    children.push(app);
    return app;
  }

  it('readinessDelayMs: /ready answers 503 "shutting down" for the delay while the app still listens, then the port closes', async () => {
    const app = start({ readinessDelayMs: 1_500 });
    const port = await app.ready();
    app.kill('SIGTERM');
    await app.waitFor('ev:phase.readiness');
    const { runs, seen, exit } = await pollReady(app, port);

    expect(runs).toBe('503 closed');
    expect(seen.filter((s) => s.result === 503).length).toBeGreaterThan(1);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it("terminus's gracefulShutdownTimeoutMs waits after the port closed: the balancer sees no 503 from it, only a later exit", async () => {
    const app = start({ readinessDelayMs: 0 }, 1_500);
    const port = await app.ready();
    app.kill('SIGTERM');
    await app.waitFor('ev:quit.ended');
    // The quit pipeline is over, so the listener is closed; terminus's wait
    // (beforeApplicationShutdown, after every onModuleDestroy) has not even begun.
    const { runs, firstClosedAt, exit, exitAt } = await pollReady(app, port);

    expect(runs).toBe('closed');
    expect(exitAt - firstClosedAt!).toBeGreaterThanOrEqual(1_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it("both: 503 for readinessDelayMs, then the drain, then terminus's wait; the exit comes after both delays", async () => {
    const app = start({ readinessDelayMs: 1_000 }, 1_000);
    const port = await app.ready();
    app.kill('SIGTERM');
    await app.waitFor('ev:phase.readiness');
    const { runs, exit } = await pollReady(app, port);

    expect(runs).toBe('503 closed');
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(2_000);
  });

  it("terminus's wait counts against timeoutMs: past the deadline the process is forced out with failureExitCode", async () => {
    const app = start({ readinessDelayMs: 0, timeoutMs: 1_200 }, 5_000);
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;

    expect(exit.code).toBe(1);
    expect(app.output()).toContain('Shutdown did not finish within the 1200 ms deadline; exiting now');
    expect(app.output()).toMatch(/forced: deadline\)\n(.*\n)*  nest +cut \(deadline\) +onModuleDestroy \/ beforeApplicationShutdown/);
    expect(exit.elapsedMs).toBeLessThan(5_000);
  });
});

describe('the terminus indicator without terminus', () => {
  it('the package entry loads when @nestjs/terminus cannot be resolved, and exports QuitHealthIndicator', async () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const entry = pathToFileURL(path.join(root, 'build', 'lib', 'index.js')).href;
    // A resolve hook that makes @nestjs/terminus unresolvable, as if it were not installed.
    const hook = `data:text/javascript,${encodeURIComponent(
      'export async function resolve(s, c, next) { if (s.startsWith("@nestjs/terminus")) throw new Error("not installed: " + s); return next(s, c); }',
    )}`;
    const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hook)});`)}`;
    const run = (code: string) =>
      promisify(execFile)(process.execPath, ['--import', register, '--input-type=module', '-e', code], { cwd: root }).then(
        (r) => r.stdout.trim(),
        (e: Error & { stderr?: string }) => `failed: ${/not installed: [^\s"]+/.exec(e.stderr ?? '')?.[0] ?? e.message}`,
      );
    const [loaded, terminus] = await Promise.all([
      run(`const m = await import(${JSON.stringify(entry)}); console.log(typeof m.QuitHealthIndicator, typeof m.QuitModule);`),
      run(`await import('@nestjs/terminus'); console.log('loaded');`),
    ]);
    expect(loaded).toBe('function function');
    // The control: the hook does hide terminus.
    expect(terminus).toBe('failed: not installed: @nestjs/terminus');
  });
});

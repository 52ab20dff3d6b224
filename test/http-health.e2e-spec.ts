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
    expect(app.events()).toEqual(['ping ready', 'phase.fire', 'phase.readiness', 'ping not-ready', 'ping not-ready', 'phase.transports', 'phase.workers', 'phase.hooks']);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
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

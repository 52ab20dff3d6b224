/**
 * The package as it would be published — `npm run build`, `npm pack` — installed into
 * consumer apps (test/consumers/<name>: its own package.json and lock file), each a
 * real Nest app in a child process that gets real signals:
 *
 *   CommonJS, Nest 11.2, Express · CommonJS, Nest 11.1.4, Fastify
 *   ESM, Nest 12.5, Express      · ESM, Nest 12.0, Fastify
 *   CommonJS, Nest 11.0.0, Express, no optional peer installed (no gRPC)
 *
 * The CommonJS apps `require()` the package's CommonJS build, the ESM apps `import` its
 * ESM build. The four gRPC apps also run the README's quick start (grpc-health-check and
 * @nestjs/terminus installed, as the README says). See test/consumers/README.md, and
 * prepare.mjs for how they are installed and compiled.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuitOptionsError } from '../lib/errors/quit-options.error.js';
import { QuitMessages } from '../lib/quit.messages.js';
import { expectedContract, MICROSERVICES_GAPS } from './helpers/internals-contract.js';
import { Child } from './helpers/child.js';
import { get } from './helpers/http.js';
import { freePort } from './helpers/ports.js';
import { check, healthClient, watchHealth } from './src/grpc-proto.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROTO = path.join(here, 'consumers', 'app', 'probe.proto');
const QUICK_START = path.join(here, 'consumers', 'app', 'quick-start');

interface Prepared {
  name: string;
  dir: string;
  main: string;
  /** The installed @nestjs/core version. */
  nest: string;
  /** The installed nestjs-quit version. */
  quit: string;
}

/**
 * `microservices`: the installed @nestjs/microservices version and the reaches into it that
 * are genuinely not there (test/helpers/internals-contract.ts says what the module does
 * instead); null: not installed.
 */
const CONSUMERS = [
  { name: 'cjs-nest11-express', module: 'commonjs', nest: '11.2.10', adapter: 'express', grpc: true, microservices: { version: '11.2.6', gaps: ['runner', 'handleRequest'] } },
  { name: 'cjs-nest11-fastify', module: 'commonjs', nest: '11.1.4', adapter: 'fastify', grpc: true, microservices: { version: '11.1.4', gaps: ['runner', 'handleRequest', 'openSockets'] } },
  { name: 'esm-nest12-express', module: 'module', nest: '12.5.1', adapter: 'express', grpc: true, microservices: { version: '12.1.1', gaps: [] } },
  { name: 'esm-nest12-fastify', module: 'module', nest: '12.0.1', adapter: 'fastify', grpc: true, microservices: { version: '12.0.1', gaps: ['runner', 'handleRequest', 'openSockets'] } },
  { name: 'cjs-nest11-express-minimal', module: 'commonjs', nest: '11.0.0', adapter: 'express', grpc: false, microservices: null },
] as const satisfies ReadonlyArray<{ [key: string]: unknown; microservices: { version: string; gaps: ReadonlyArray<keyof typeof MICROSERVICES_GAPS> } | null }>;

/** The optional peers of the package: none may be needed by an app that does not use it. */
const OPTIONAL_PEERS = ['@nestjs/microservices', '@grpc/grpc-js', '@nestjs/schedule', '@nestjs/bullmq', 'bullmq', '@nestjs/terminus'];

/** Runs a command in a consumer's folder; resolves with its exit code and output, never rejects. */
function run(dir: string, args: string[]): Promise<{ code: number; output: string }> {
  const env = { ...process.env };
  delete env.JEST_WORKER_ID;
  return new Promise((resolve) =>
    execFile(process.execPath, args, { cwd: dir, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}

/** Runs a consumer's own Jest suite `src/jest/<file>.test.*` the way that app would: CommonJS mode, or ESM mode (VM modules). */
function runJest(dir: string, module: 'commonjs' | 'module', file: 'quit' | 'kit'): Promise<{ code: number; output: string }> {
  const jest = path.join(here, '..', 'node_modules', 'jest', 'bin', 'jest.js');
  const config = JSON.stringify({ testEnvironment: 'node' });
  const pattern = `${file}\\.test\\.${module === 'commonjs' ? 'cjs' : 'mjs'}$`;
  const jestArgs = [jest, '--ci', '--rootDir', 'src/jest', '--config', config, pattern];
  return run(dir, module === 'commonjs' ? jestArgs : ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', ...jestArgs]);
}

let prepared: Map<string, Prepared> | undefined;
let rootVersion: string;

beforeAll(async () => {
  rootVersion = JSON.parse(readFileSync(path.join(here, '..', 'package.json'), 'utf8')).version;
  // One preparation at a time on this machine: a second `npm test` waits for the first.
  const lock = path.join(os.tmpdir(), 'nestjs-quit-consumers.lock');
  const script = path.join(here, 'consumers', 'prepare.mjs');
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile('flock', [lock, process.execPath, script], { timeout: 540_000, maxBuffer: 16 << 20 }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${out}${err}`)) : resolve(out),
    ),
  );
  const { consumers } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { consumers: Prepared[] };
  prepared = new Map(consumers.map((c) => [c.name, c]));
}, 600_000);

const children: Child[] = [];
const clients: grpc.Client[] = [];
afterEach(() => {
  children.splice(0).forEach((c) => c.stop());
  clients.splice(0).forEach((c) => c.close());
});

function consumer(name: string): Prepared {
  const found = prepared?.get(name);
  if (!found) throw new Error(`consumer ${name} was not prepared`);
  return found;
}

function start(name: string, env: Record<string, string> = {}): Child {
  const child = new Child(consumer(name).main, env);
  children.push(child);
  return child;
}

interface SlowReply {
  id: number;
  status: string;
}

/** One unary `probe.Probe/Slow` call on a new channel; resolves with its status (never rejects). */
function grpcSlow(port: number, request: { id: number; ms: number }): Promise<{ code: grpc.status; reply?: SlowReply }> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO)) as any;
  const client: grpc.Client & { Slow: Function } = new pkg.probe.Probe(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  clients.push(client);
  return new Promise((resolve) =>
    client.Slow(request, (error: grpc.ServiceError | null, reply?: SlowReply) =>
      resolve(error ? { code: error.code } : { code: grpc.status.OK, reply }),
    ),
  );
}

const OK_REPORT = 'report {"ok":true,"pending":[],"failures":[]}';
const STARTS = ['request.start', 'worker.start', 'call.start'];

/** The shutdown's events: the start-up ones left out. */
const shutdownEvents = (app: Child) => app.events().filter((e) => !STARTS.includes(e));

/**
 * The shutdown of the order probe, `worker.end` aside: the worker run is held like the
 * request, but it may end in the transports phase or in the workers phase.
 */
const PROBE_ORDER = [
  'phase.fire',
  'phase.readiness',
  'phase.transports',
  'intake-stopped http',
  'request.end',
  'drained http',
  'phase.workers',
  'phase.hooks',
  'hook.flush',
  OK_REPORT,
  'pool.destroy',
  'hooks.destroy',
];

interface LogRecord {
  level: string;
  context?: string;
  message: unknown;
}

/** What the app's `new ConsoleLogger({ json: true })` (LOGGER=json) wrote to one stream in the module's context: one record a line. */
function quitRecords(app: Child, stream: 'stdout' | 'stderr'): LogRecord[] {
  const lines = stream === 'stdout' ? app.lines : app.stderr.join('').split('\n');
  return lines
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogRecord)
    .filter((r) => r.context === 'QuitModule');
}

const PHASES = ['fire', 'readiness', 'transports', 'workers', 'hooks'];

/** Asserts the probe's order: everything in `PROBE_ORDER`, the worker's end before the hooks. */
function expectProbeOrder(app: Child, after: string[] = []): void {
  const events = shutdownEvents(app);
  expect(events.filter((e) => e !== 'worker.end')).toEqual([...PROBE_ORDER, ...after]);
  const workerEnd = events.indexOf('worker.end');
  expect(workerEnd).toBeGreaterThan(events.indexOf('phase.transports'));
  expect(workerEnd).toBeLessThan(events.indexOf('phase.hooks'));
}

/**
 * Starts a request and a tracked worker run, both held by the app until quitting begins.
 * The request's reply comes wrapped: an async function returning it would wait for it.
 */
async function inFlight(app: Child, port: number) {
  const request = get(port, '/slow?ms=300');
  expect(await get(port, '/work?ms=600')).toMatchObject({ status: 200, body: 'started' });
  await app.waitFor('ev:request.start');
  await app.waitFor('ev:worker.start');
  return { request };
}

describe("the README's quick start: the consumer apps' copy (test/consumers/app/quick-start) is the README's code", () => {
  /** The lines from the one that matches `first` to the end of its code block (README) or of the file. */
  const from = (text: string, first: RegExp, end?: RegExp) => {
    const lines = text.split('\n');
    const start = lines.findIndex((l) => first.test(l));
    const stop = end ? lines.findIndex((l, i) => i > start && end.test(l)) : lines.length;
    expect(start).toBeGreaterThanOrEqual(0);
    return lines.slice(start, stop).join('\n').trimEnd();
  };
  const readme = readFileSync(path.join(here, '..', 'README.md'), 'utf8');

  it.each([
    { file: 'app.module.ts', first: /^\/\/ app\.module\.ts$/ },
    { file: 'main.ts', first: /^\/\/ main\.ts / },
  ])('$file: word for word the README block (so the gRPC apps compile, and run, what the README shows)', ({ file, first }) => {
    const copy = from(readFileSync(path.join(QUICK_START, file), 'utf8'), first);
    expect(copy).toBe(from(readme, first, /^```$/));
  });
});

describe.each(CONSUMERS)('$name: a $module app on Nest $nest with $adapter', ({ name, module, nest, grpc: hybrid, microservices }) => {
  // The gRPC cases exist only for an app that has the microservices peer: not run, not
  // skipped; the cases of a package that is missing, only for the app without it.
  const itWithGrpc = hybrid ? it : () => undefined;
  const itWithoutGrpc = hybrid ? () => undefined : it;
  it('has the packed package installed from its tarball, and compiles with its public types under strict settings', () => {
    const c = consumer(name);
    expect(c.nest).toBe(nest);
    expect(c.quit).toBe(rootVersion);
    if (!hybrid) {
      for (const peer of OPTIONAL_PEERS) expect([peer, existsSync(path.join(c.dir, 'node_modules', peer))]).toEqual([peer, false]);
    }
    const installed = path.join(c.dir, 'node_modules', 'nestjs-quit');
    // Only what `files` lets into the tarball.
    expect(existsSync(path.join(installed, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(path.join(installed, 'dist', 'index.d.ts'))).toBe(true);
    expect(existsSync(path.join(installed, 'lib'))).toBe(false);
    expect(existsSync(path.join(installed, 'test'))).toBe(false);
    // prepare.mjs failed unless `tsc` passed; this is its output, loading the package the consumer's way.
    const main = readFileSync(c.main, 'utf8');
    if (module === 'commonjs') expect(main).toContain('require("nestjs-quit")');
    else expect(main).toMatch(/^import \{[^}]*\} from 'nestjs-quit';$/m);
    expect(existsSync(path.join(c.dir, 'dist', 'src', 'public-types.js'))).toBe(true);
    // The README's main.ts and app.module.ts, compiled as they are (the apps with gRPC and terminus).
    expect(existsSync(path.join(c.dir, 'dist', 'src', 'quick-start', 'main.js'))).toBe(hybrid);
  });

  it(`the internals contract (lib/internals/contract.ts), from the installed ${module === 'commonjs' ? 'CommonJS' : 'ESM'} build: every reach of every library installed here is found, except those this version does not have; the others are reported absent`, async () => {
    const { dir } = consumer(name);
    const result = await run(dir, [path.join('src', 'contract.mjs')]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.output.trim().split('\n').at(-1)!);
    expect(report.build).toBe(module === 'commonjs' ? 'cjs' : 'esm');
    expect(report.versions).toEqual({
      '@nestjs/core': nest,
      '@nestjs/microservices': microservices?.version ?? null,
      '@grpc/grpc-js': hybrid ? '1.14.7' : null,
      '@nestjs/websockets': null,
    });
    // No consumer installs a broker client or a WebSocket adapter.
    expect(report.libraries).toEqual(
      expectedContract({ microservices: microservices ? [...microservices.gaps] : undefined, grpc: hybrid, brokers: false, websockets: false }),
    );
  });

  it('resolves require() to the CommonJS build and import to the ESM build', async () => {
    const { dir } = consumer(name);
    const required = await run(dir, ['-p', "require.resolve('nestjs-quit')"]);
    const imported = await run(dir, ['--input-type=module', '-e', "console.log(import.meta.resolve('nestjs-quit'))"]);
    expect(required).toEqual({ code: 0, output: `${path.join(dir, 'node_modules', 'nestjs-quit', 'dist', 'cjs', 'index.js')}\n` });
    expect(imported).toEqual({ code: 0, output: `file://${path.join(dir, 'node_modules', 'nestjs-quit', 'dist', 'index.js')}\n` });
  });

  it('nestjs-quit/terminus: the same build as the main entry, so one QuitService class', async () => {
    const { dir } = consumer(name);
    const check = (load: string) => `${load} console.log(Reflect.getMetadata('design:paramtypes', t.QuitHealthIndicator)[0] === q.QuitService);`;
    const required = await run(dir, ['-e', check("require('reflect-metadata'); const q = require('nestjs-quit'); const t = require('nestjs-quit/terminus');")]);
    const imported = await run(dir, [
      '--input-type=module',
      '-e',
      check("await import('reflect-metadata'); const q = await import('nestjs-quit'); const t = await import('nestjs-quit/terminus');"),
    ]);
    expect(required).toEqual({ code: 0, output: 'true\n' });
    expect(imported).toEqual({ code: 0, output: 'true\n' });
  });

  it(`Jest (${module === 'commonjs' ? 'CommonJS mode, as Nest 11 apps run it' : 'ESM mode, as Nest 12 apps must'}) loads the package; app.close() runs the pipeline before onModuleDestroy; grpcHealth: true loads grpc-health-check ${hybrid ? '' : '(not installed here: the start fails naming grpcHealth) '}through Jest's ${module === 'commonjs' ? 'require' : 'import()'}`, async () => {
    const result = await runJest(consumer(name).dir, module, 'quit');
    expect(result.output).toMatch(/^Tests: +2 passed, 2 total$/m);
    expect(result.code).toBe(0);
  });

  it('nestjs-quit/testing: require() gets its CommonJS build, import its ESM build; neither entry loads Jest', async () => {
    const { dir } = consumer(name);
    const installed = path.join(dir, 'node_modules', 'nestjs-quit', 'dist');
    const required = await run(dir, ['-p', "require.resolve('nestjs-quit/testing')"]);
    const imported = await run(dir, ['--input-type=module', '-e', "console.log(import.meta.resolve('nestjs-quit/testing'))"]);
    const loaded = await run(dir, ['-p', "require('nestjs-quit'); require('nestjs-quit/testing'); Object.keys(require.cache).filter((f) => /[\\/]node_modules[\\/](jest|@jest)[\\/]/.test(f)).length"]);
    expect(required).toEqual({ code: 0, output: `${path.join(installed, 'cjs', 'testing', 'index.js')}\n` });
    expect(imported).toEqual({ code: 0, output: `file://${path.join(installed, 'testing', 'index.js')}\n` });
    expect(loaded).toEqual({ code: 0, output: '0\n' });
  });

  it(`nestjs-quit/testing in a user's Jest suite (${module === 'commonjs' ? 'CommonJS' : 'ESM'} mode): the app drains cleanly under load, and a broken app shows its loss`, async () => {
    const result = await runJest(consumer(name).dir, module, 'kit');
    expect(result.output).toMatch(/^Tests: +2 passed, 2 total$/m);
    expect(result.code).toBe(0);
  });

  it(`nestjs-quit/testing in a user's node:test suite (${module === 'commonjs' ? 'CommonJS' : 'ESM'}): the same two tests`, async () => {
    const { dir } = consumer(name);
    const file = path.join('src', 'node-test', module === 'commonjs' ? 'kit.test.cjs' : 'kit.test.mjs');
    const result = await run(dir, ['--test', '--test-reporter=tap', file]);
    expect(result.output).toMatch(/^# pass 2$/m);
    expect(result.output).toMatch(/^# fail 0$/m);
    expect(result.code).toBe(0);
  });

  it("SIGTERM: the request and the tracked worker in flight finish while the pool is open, then the quit hooks, then onModuleDestroy; with Nest's new ConsoleLogger({ json: true }) the clean shutdown logs one record whose fields are the report's, its summary line among them", async () => {
    const app = start(name, { LOGGER: 'json' });
    const port = await app.ready();
    const { request } = await inFlight(app, port);
    app.kill('SIGTERM');
    expect(await request).toMatchObject({ status: 200, body: 'done' });
    const exit = await app.exited;
    expectProbeOrder(app);
    // Nest re-raises the signal once closed: the process dies of it, as it would without the module.
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });

    const logs = quitRecords(app, 'stdout');
    expect(logs.map((r) => [r.level, typeof r.message])).toEqual([
      ['log', 'string'],
      ['log', 'object'],
    ]);
    expect(logs[0]!.message).toBe(QuitMessages.started('signal', 'SIGTERM'));
    const report = logs[1]!.message as Record<string, any>;
    expect(report.summary).toMatch(/^Shutdown done in [\d.]+ ms \(signal SIGTERM\): fire [\d.]+ ms, readiness [\d.]+ ms, transports [\d.]+ ms, workers [\d.]+ ms, hooks [\d.]+ ms$/);
    expect(report).toMatchObject({ ok: true, trigger: 'signal', signal: 'SIGTERM', pending: [], failures: [], skippedWorkerRuns: 0 });
    expect(report.phases.map((p: { phase: string; durationMs: unknown; timedOut: boolean }) => [p.phase, typeof p.durationMs, p.timedOut])).toEqual(
      PHASES.map((phase) => [phase, 'number', false]),
    );
    expect(quitRecords(app, 'stderr')).toEqual([]);
  });

  itWithGrpc('hybrid gRPC, SIGTERM: intake stops on HTTP then gRPC; the call and the request in flight finish before onModuleDestroy', async () => {
    // grpc-js does not tell Nest which port it bound: the port is chosen first.
    const grpcPort = await freePort();
    const app = start(name, { GRPC_PORT: String(grpcPort), PROBE_PROTO: PROTO });
    const port = await app.ready();
    const call = grpcSlow(grpcPort, { id: 7, ms: 300 });
    await app.waitFor('ev:call.start');
    const request = get(port, '/slow?ms=300');
    await app.waitFor('ev:request.start');
    app.kill('SIGTERM');
    expect(await call).toEqual({ code: grpc.status.OK, reply: { id: 7, status: 'done' } });
    expect(await request).toMatchObject({ status: 200, body: 'done' });
    const exit = await app.exited;

    const events = shutdownEvents(app);
    const drained = events.filter((e) => e.startsWith('drained '));
    const rest = events.filter((e) => !e.startsWith('drained '));
    expect(rest).toEqual([
      'phase.fire',
      'phase.readiness',
      'phase.transports',
      'intake-stopped http',
      'intake-stopped grpc',
      expect.stringMatching(/^(call|request)\.end$/),
      expect.stringMatching(/^(call|request)\.end$/),
      'phase.workers',
      'phase.hooks',
      'hook.flush',
      OK_REPORT,
      'pool.destroy',
      'hooks.destroy',
    ]);
    expect(rest.slice(5, 7).sort()).toEqual(['call.end', 'request.end']);
    // Each transport drained (not forced) after its own work ended, within the transports phase.
    expect([...drained].sort()).toEqual(['drained grpc', 'drained http']);
    expect(events.indexOf('drained grpc')).toBeGreaterThan(events.indexOf('call.end'));
    expect(events.indexOf('drained http')).toBeGreaterThan(events.indexOf('request.end'));
    for (const line of drained) expect(events.indexOf(line)).toBeLessThan(events.indexOf('phase.workers'));
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  itWithGrpc('standalone gRPC microservice, SIGTERM: the call in flight finishes before onModuleDestroy', async () => {
    const grpcPort = await freePort();
    const app = start(name, { GRPC_PORT: String(grpcPort), PROBE_PROTO: PROTO, GRPC_STANDALONE: '1' });
    expect(await app.ready()).toBe(grpcPort);
    const call = grpcSlow(grpcPort, { id: 9, ms: 300 });
    await app.waitFor('ev:call.start');
    app.kill('SIGTERM');
    expect(await call).toEqual({ code: grpc.status.OK, reply: { id: 9, status: 'done' } });
    const exit = await app.exited;
    expect(shutdownEvents(app)).toEqual([
      'phase.fire',
      'phase.readiness',
      'phase.transports',
      'intake-stopped grpc',
      'call.end',
      'drained grpc',
      'phase.workers',
      'phase.hooks',
      'hook.flush',
      OK_REPORT,
      'pool.destroy',
      'hooks.destroy',
    ]);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  itWithGrpc("the README's quick start (grpcHealth: true, a terminus readiness route, readinessDelayMs: 3_000): grpc.health.v1 Check and Watch and /health/ready flip from the first moment of quitting, while calls are still served", async () => {
    const grpcPort = await freePort();
    const app = start(name, { GRPC_PORT: String(grpcPort), PROBE_PROTO: PROTO, QUICK_START: '1' });
    const port = await app.ready();
    const health = await healthClient(grpcPort);
    clients.push(health);
    // The route's status, or why there was none (ECONNREFUSED once the listener closed).
    const ready = () => get(port, '/health/ready').then((r) => r.status, (e: NodeJS.ErrnoException) => e.code);
    const before = {
      grpc: await Promise.all([check(health, ''), check(health, 'probe.Probe'), check(health, 'no.Such')]),
      ready: await ready(),
    };
    const watch = watchHealth(health, '');
    await watch.next(1);
    const held = grpcSlow(grpcPort, { id: 3, ms: 300 });
    await app.waitFor('ev:call.start');

    app.kill('SIGTERM');
    // The next status, or the end of the stream if none comes (asserted below).
    await Promise.race([watch.next(2), watch.ended]);
    // Told NOT_SERVING, a client is still served: the README's readinessDelayMs has not run out.
    const during = {
      grpc: await Promise.all([check(health, ''), check(health, 'probe.Probe')]),
      ready: await ready(),
      call: await grpcSlow(grpcPort, { id: 4, ms: 0 }),
    };
    const [watchEnd, heldCall, exit] = await Promise.all([watch.ended, held, app.exited]);

    const serving = { code: grpc.status.OK, status: 'SERVING' };
    const notServing = { code: grpc.status.OK, status: 'NOT_SERVING' };
    expect(before).toEqual({ grpc: [serving, serving, { code: grpc.status.NOT_FOUND }], ready: 200 });
    expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(during).toEqual({ grpc: [notServing, notServing], ready: 503, call: { code: grpc.status.OK, reply: { id: 4, status: 'done' } } });
    expect(heldCall).toEqual({ code: grpc.status.OK, reply: { id: 3, status: 'done' } });
    // The Watch ended with OK when quitting began: it held nothing in the drain (the report is clean).
    expect(watchEnd).toBe(grpc.status.OK);
    const events = shutdownEvents(app);
    expect(events.filter((e) => !e.startsWith('drained '))).toEqual([
      'phase.fire',
      'phase.readiness',
      'call.end', // both calls, during the delay, before any intake stopped
      'call.end',
      'phase.transports',
      'intake-stopped http',
      'intake-stopped grpc',
      'phase.workers',
      'phase.hooks',
      'hook.flush',
      OK_REPORT,
      'pool.destroy',
      'hooks.destroy',
    ]);
    expect(events.filter((e) => e.startsWith('drained ')).sort()).toEqual(['drained grpc', 'drained http']);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  itWithoutGrpc('grpcHealth: true where grpc-health-check is not installed: the start fails with a QuitOptionsError naming grpcHealth and the package, and the process exits', async () => {
    const app = start(name, { QUIT_OPTIONS: JSON.stringify({ grpcHealth: true }) });
    // Never listening: ready() rejects when the process exits first.
    expect(await app.ready().then(() => 'listening', () => 'exited')).toBe('exited');
    const exit = await app.exited;
    // What Node's require says follows the module's message: the package's name, then the require stack.
    const message = new QuitOptionsError('grpcHealth', true, QuitMessages.grpcHealthPackageMissing("Cannot find module 'grpc-health-check'")).message;
    expect(app.output()).toContain(`QuitOptionsError: ${message.slice(0, -1)}\nRequire stack:\n`);
    // main.ts's catch: console.error, then exit 70.
    expect(exit).toMatchObject({ code: 70, signal: null });
  });

  it.each([
    { how: 'quit.quit()', route: '/quit', body: 'quitting', after: [], end: { code: null, signal: 'SIGTERM' }, then: 'the app closes through its shutdown hooks' },
    { how: 'app.close()', route: '/close', body: 'closing', after: ['closed', 'exit 0'], end: { code: 0, signal: null }, then: 'the process is left to its owner' },
  ])('$how: the same order, then $then', async ({ route, body, after, end }) => {
    const app = start(name);
    const port = await app.ready();
    const { request } = await inFlight(app, port);
    expect(await get(port, route)).toMatchObject({ status: 200, body });
    expect(await request).toMatchObject({ status: 200, body: 'done' });
    const exit = await app.exited;
    expectProbeOrder(app, after);
    expect(exit).toMatchObject(end);
  });

  it('with exitCode: 0, a clean SIGTERM shutdown exits with code 0', async () => {
    const app = start(name, { QUIT_OPTIONS: JSON.stringify({ exitCode: 0 }) });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(app.events().slice(-4)).toEqual([OK_REPORT, 'pool.destroy', 'hooks.destroy', 'exit 0']);
  });

  it("a quit hook that times out: exit 1; with Nest's new ConsoleLogger({ json: true }), the failed report is one error record with the phases, what was pending and each failure as fields", async () => {
    const app = start(name, { HOOK: 'hang', LOGGER: 'json' });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(app.events().slice(-5)).toEqual([
      'hook.flush',
      'report {"ok":false,"pending":["hooks: Hooks@misbehave"],"failures":["Hooks@misbehave"]}',
      'pool.destroy',
      'hooks.destroy',
      'exit 1',
    ]);

    const reports = quitRecords(app, 'stderr').filter((r) => typeof r.message === 'object');
    expect(reports.map((r) => r.level)).toEqual(['error']);
    const report = reports[0]!.message as Record<string, any>;
    expect(report.summary).toMatch(/^Shutdown failed after [\d.]+ ms \(signal SIGTERM\)$/);
    expect(report).toMatchObject({ ok: false, trigger: 'signal', signal: 'SIGTERM', pending: ['hooks: Hooks@misbehave'] });
    expect(report.failures).toEqual([{ source: 'Hooks@misbehave', phase: 'hooks', message: QuitMessages.hookTimedOut('Hooks@misbehave', 300) }]);
    expect(report.phases.map((p: { phase: string; durationMs: unknown; timedOut: boolean; pending: string[] }) => [p.phase, typeof p.durationMs, p.timedOut, p.pending])).toEqual(
      PHASES.map((phase) => [phase, 'number', phase === 'hooks', phase === 'hooks' ? ['Hooks@misbehave'] : []]),
    );
    // Nothing of it went to stdout as a clean summary.
    expect(quitRecords(app, 'stdout').filter((r) => typeof r.message === 'object')).toEqual([]);
  });

  it('a second SIGINT while a hook hangs exits at once, with code 1 and the report', async () => {
    const app = start(name, { HOOK: 'hang', HOOK_TIMEOUT_MS: '10000' });
    await app.ready();
    app.kill('SIGINT');
    await app.waitFor('ev:hook.hang');
    app.kill('SIGINT');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(app.output()).toContain(QuitMessages.secondSignal('SIGINT'));
    expect(app.output()).toMatch(/Shutdown failed after [\d.]+ ms \(signal SIG\w+, forced: second-signal\)/);
    expect(app.events().slice(-2)).toEqual(['hook.hang', 'exit 1']);
  });

  it('when an onModuleDestroy hangs, the deadline ends the process with code 1 and names what was pending', async () => {
    const app = start(name, { POOL_DESTROY: 'hang', QUIT_OPTIONS: JSON.stringify({ timeoutMs: 600 }) });
    await app.ready();
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(600);
    expect(app.output()).toContain(QuitMessages.deadline(600));
    // The report's table has a row for Nest's own hooks, cut by the deadline.
    const [where, what] = QuitMessages.nestHooksPending().split(': ');
    expect(app.output()).toMatch(new RegExp(`${where} +cut \\(deadline\\) +${what.replace(/[/]/g, '\\/')}`));
    // Nest runs one module's onModuleDestroy hooks together: the pool's hanging one stops none.
    expect(app.events().slice(-3).sort()).toEqual(['exit 1', 'hooks.destroy', 'pool.destroy']);
    expect(app.events().at(-1)).toBe('exit 1');
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { Child, childStarter } from './helpers/child.js';
import { get } from './helpers/http.js';
import { serverStream, slow, workClient } from './src/grpc-proto.js';

const startChild = childStarter();
const clients: Array<{ close(): void }> = [];
const start = (env: Record<string, string>) => startChild('grpc-app', env);
function client(port: number) {
  const c = workClient(port);
  clients.push(c);
  return c;
}
afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
});

const count = (app: Child, prefix: string) => app.lines.filter((l) => l.startsWith(prefix)).length;

/** Resolves once `n` lines starting with `prefix` have been printed (the fixture's exit fails it). */
async function until(app: Child, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < 1_000 && count(app, prefix) < n; i++) {
    await Promise.race([new Promise((r) => setTimeout(r, 10)), app.exited]);
  }
  expect(count(app, prefix)).toBe(n);
}

/** A bidi `Chat` call that writes one tick, and its final status. */
function chat(c: ReturnType<typeof workClient>) {
  const call = c.Chat();
  let echoed = 0;
  let first: () => void;
  const opened = new Promise<void>((resolve) => (first = resolve));
  call.on('data', () => {
    echoed++;
    first();
  });
  call.on('error', () => undefined);
  const ended = new Promise<{ code: status; echoed: number }>((resolve) =>
    call.on('status', (s: { code: status }) => {
      call.end();
      resolve({ code: s.code, echoed });
    }),
  );
  call.write({ n: 1 });
  return { opened, ended };
}

describe.each([
  ['hybrid', { MODE: 'hybrid' }],
  ['standalone', { MODE: 'standalone' }],
  ['hybrid, gracefulShutdown: true', { MODE: 'hybrid', GRACEFUL: '1' }],
])('gRPC drain (%s app)', (_label, env) => {
  it('SIGTERM: 32 unary calls in flight return OK, new calls get UNAVAILABLE, streams watching the signal end with OK', async () => {
    const app = start(env);
    const port = await app.ready();
    const c = client(port);
    // Each call is held by its handler until quitting begins, then takes 300 ms more:
    // in flight at the signal by construction.
    const calls = Array.from({ length: 32 }, (_, id) => slow(c, { id, ms: 300, hold: true }));
    const watch = serverStream(c, 'Watch', 20);
    const bidi = chat(c);
    await Promise.all([watch.opened, bidi.opened]);
    await until(app, 'ev:call.start', 32);

    app.kill('SIGTERM');
    await app.waitFor(`ev:intake-stopped grpc:${port}`);
    const sameChannel = await slow(c, { id: 100, ms: 0 });
    const newChannel = await slow(client(port), { id: 101, ms: 0 });
    const results = await Promise.all(calls);
    const exit = await app.exited;

    expect(results.map((r) => r.code)).toEqual(Array(32).fill(status.OK));
    expect(results.map((r) => r.reply?.id)).toEqual(Array.from({ length: 32 }, (_, id) => id));
    expect([sameChannel.code, newChannel.code]).toEqual([status.UNAVAILABLE, status.UNAVAILABLE]);
    expect((await watch.ended).code).toBe(status.OK);
    expect((await bidi.ended).code).toBe(status.OK);
    expect(count(app, 'ev:call.start')).toBe(32); // the late calls never reached a handler
    const drain = app.events().filter((e) => /^(phase\.(transports|workers)|intake-stopped|drained|report)/.test(e));
    expect(drain.filter((e) => !e.includes('http:'))).toEqual([
      'phase.transports',
      `intake-stopped grpc:${port}`,
      `drained grpc:${port}`,
      'phase.workers',
      'report {"ok":true,"pending":[]}',
    ]);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('a stream that ignores the signal is cancelled at the phase timeout, named in the report, and the process exits by itself', async () => {
    const app = start({ ...env, QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 500 } }) });
    const port = await app.ready();
    const c = client(port);
    const forever = serverStream(c, 'Forever', 20);
    await forever.opened;

    app.kill('SIGTERM');
    const ended = await forever.ended;
    const exit = await app.exited;

    expect(ended.code).toBe(status.CANCELLED);
    expect(app.events()).toContain(`drained grpc:${port} forced`);
    expect(app.events()).toContain(
      `report {"ok":false,"pending":["transports: grpc:${port}: 1 call(s) in flight, 1 connection(s) open"]}`,
    );
    // A phase that timed out makes the shutdown a failed one: the policy's failureExitCode.
    expect(exit).toMatchObject({ code: 1, signal: null });
  });
});

describe.each([['hybrid'], ['standalone']])('gRPC drain on app.close() (%s app)', (mode) => {
  // A standalone NestMicroservice#close() closes its server before any onModuleDestroy:
  // without the drainer taking over close(), these calls would all be CANCELLED.
  it('8 unary calls in flight when the app closes itself return OK', async () => {
    const app = start({ MODE: mode, CLOSE_AT: '8' });
    const port = await app.ready();
    const c = client(port);
    const calls = Array.from({ length: 8 }, (_, id) => slow(c, { id, ms: 200, hold: true }));
    const results = await Promise.all(calls);
    await app.waitFor('ev:closed');

    expect(results.map((r) => r.code)).toEqual(Array(8).fill(status.OK));
    const drain = app.events().filter((e) => /^(intake-stopped grpc|drained grpc|report|closed)/.test(e));
    expect(drain).toEqual([`intake-stopped grpc:${port}`, `drained grpc:${port}`, 'report {"ok":true,"pending":[]}', 'closed']);
  });
});

describe('transport order', () => {
  async function run(order?: string[]) {
    const app = start({ MODE: 'hybrid', TCP: '1', ...(order ? { QUIT_OPTIONS: JSON.stringify({ transportOrder: order }) } : {}) });
    const grpcPort = await app.ready();
    const httpPort = Number((await app.waitFor(/^port http /)).split(' ')[2]);
    const tcpPort = Number((await app.waitFor(/^port tcp /)).split(' ')[2]);
    const c = client(grpcPort);
    const call = slow(c, { id: 1, ms: 200, hold: true });
    const request = get(httpPort, '/slow?ms=200');
    await until(app, 'ev:call.start', 1);
    await until(app, 'ev:http.start', 1);
    app.kill('SIGTERM');
    const [reply, result, exit] = await Promise.all([request, call, app.exited]);
    expect(reply).toMatchObject({ status: 200, body: 'done' });
    expect(result.code).toBe(status.OK);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    const names = { http: `http:${httpPort}`, grpc: `grpc:${grpcPort}`, tcp: `tcp:${tcpPort}` };
    return { events: app.events().filter((e) => /^(intake-stopped|drained) /.test(e)), names };
  }

  it('intake stops on HTTP, then gRPC, then TCP by default; the drains follow, all after the last intake stop', async () => {
    const { events, names } = await run();
    expect(events.slice(0, 3)).toEqual([`intake-stopped ${names.http}`, `intake-stopped ${names.grpc}`, `intake-stopped ${names.tcp}`]);
    expect(events.slice(3).sort()).toEqual([`drained ${names.grpc}`, `drained ${names.http}`, `drained ${names.tcp}`]);
  });

  it('follows a declared transportOrder', async () => {
    const { events, names } = await run(['tcp', 'grpc', 'http']);
    expect(events.slice(0, 3)).toEqual([`intake-stopped ${names.tcp}`, `intake-stopped ${names.grpc}`, `intake-stopped ${names.http}`]);
    expect(events.slice(3).sort()).toEqual([`drained ${names.grpc}`, `drained ${names.http}`, `drained ${names.tcp}`]);
  });
});

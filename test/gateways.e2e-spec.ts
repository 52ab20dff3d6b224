import { describe, expect, it } from '@jest/globals';
import { childStarter, type Child } from './helpers/child.js';
import { freePort } from './helpers/ports.js';
import { graphqlWsClient, socketIoClient, wsClient, type ClientEnd, type LoadClient } from './src/gateway-clients.js';

const start = childStarter();
const CLIENTS = 16;
const HANDLER_MS = 300;

/** Resolves once the app has printed `n` lines matching `pattern`. */
async function lines(app: Child, pattern: RegExp, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (app.lines.filter((l) => pattern.test(l)).length >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} lines ${pattern}:\n${app.output()}`);
}

interface Case {
  kind: 'ws' | 'io' | 'gql';
  platform: 'express' | 'fastify';
  ownPort?: boolean;
  /** Socket.IO clients that stay on HTTP long-polling. */
  polling?: boolean;
}

const clientOf = { ws: wsClient, io: socketIoClient, gql: graphqlWsClient };
const label = { ws: 'ws', io: 'socket.io', gql: 'graphql-ws' };

/**
 * 16 clients keep the gateway busy (a 300 ms handler that then uses a pool closed in
 * onModuleDestroy); SIGTERM while handlers are in flight. Every handler that started
 * has its reply delivered, no message is started after its connection's goodbye, every
 * client sees its protocol's close, none sees an error, and the process exits cleanly by
 * itself, well before the phase timeout.
 */
async function drainUnderLoad({ kind, platform, ownPort, polling }: Case) {
  const gatewayPort = ownPort ? await freePort() : undefined;
  const app = start('gateway-app', {
    KIND: kind,
    PLATFORM: platform,
    HANDLER_MS: String(HANDLER_MS),
    ...(gatewayPort ? { GATEWAY_PORT: String(gatewayPort) } : {}),
    QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 6_000 } }),
  });
  const httpPort = await app.ready();
  const port = gatewayPort ?? httpPort;
  const clients: LoadClient[] = Array.from({ length: CLIENTS }, (_, i) => (polling ? socketIoClient(port, `c${i}`, true) : clientOf[kind](port, `c${i}`)));
  await Promise.all(clients.map((c) => c.replies(2)));
  // A handler has just started: at least one is in flight at the signal.
  const started = app.events().filter((e) => e.startsWith('start ')).length;
  await lines(app, /^ev:start /, started + 1);

  app.kill('SIGTERM');
  const [ends, exit] = await Promise.all([Promise.all(clients.map((c) => c.ended)), app.exited]);

  const events = app.events();
  const quitAt = events.indexOf('quit');
  const startedIds = events.filter((e) => e.startsWith('start ')).map((e) => e.slice(6));
  const endedIds = new Set(events.filter((e) => e.startsWith('end ')).map((e) => e.slice(4)));
  const inFlightAtSignal = events.slice(0, quitAt).filter((e) => e.startsWith('start ') && events.indexOf(`end ${e.slice(6)}`) > quitAt).length;
  const replied = new Set(ends.flatMap((e) => e.replied));
  const sent = ends.flatMap((e) => e.sent);

  // Handlers in flight lost (started, never answered), messages started after their goodbye:
  const lost = startedIds.filter((id) => !replied.has(id));
  expect(lost).toEqual([]);
  expect(startedIds.filter((id) => !endedIds.has(id))).toEqual([]);
  expect(startedIds.length).toBe(replied.size);
  // Every message either started and was answered, or was not started at all.
  expect(sent.filter((id) => !replied.has(id)).every((id) => !startedIds.includes(id))).toBe(true);
  expect(inFlightAtSignal).toBeGreaterThanOrEqual(1);
  expect(ends.flatMap((e) => e.errors)).toEqual([]);
  if (kind === 'io' && polling) {
    // A long-polling client needs a new HTTP request to read the close, and the HTTP listener
    // is closed: it sees either reason, and reconnects from both.
    expect(ends.filter((e) => !['transport close', 'transport error'].includes(e.close) || e.reconnects !== true)).toEqual([]);
  } else if (kind === 'io') {
    expect(ends.map((e) => [e.close, e.reconnects])).toEqual(ends.map(() => ['transport close', true]));
  } else {
    expect(ends.map((e) => e.close)).toEqual(ends.map(() => '1001'));
  }
  if (kind === 'gql') expect(ends.every((e: ClientEnd) => (e.ticks ?? 0) > 0)).toBe(true);
  expect(app.output()).not.toMatch(/pool closed|pool is closed/);
  expect(events).toContain('report {"ok":true,"pending":[]}');
  expect(events.filter((e) => e.startsWith('drained'))).toEqual(
    expect.arrayContaining([expect.stringMatching(new RegExp(`^drained ${label[kind].replace('.', '\\.')}:${port}$`)), expect.stringMatching(/^drained http:\d+$/)]),
  );
  expect(events.filter((e) => e.endsWith(' forced'))).toEqual([]);
  expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  // By itself, once the slowest handler in flight is done: far below the 6 s phase timeout.
  expect(exit.elapsedMs).toBeLessThan(4_000);
  return { sent: sent.length, replied: replied.size, inFlightAtSignal };
}

describe.each(['express', 'fastify'] as const)('gateways drain at SIGTERM under load (%s)', (platform) => {
  it('ws gateway on the HTTP server: handlers in flight answered, then close 1001, clean exit', async () => {
    await drainUnderLoad({ kind: 'ws', platform });
  });

  it('Socket.IO gateway on the HTTP server: acks in flight delivered, then a transport close the client reconnects from', async () => {
    await drainUnderLoad({ kind: 'io', platform });
  });
});

describe.each(['express', 'fastify'] as const)('gateways on a port of their own (%s)', (platform) => {
  it('ws gateway: handlers in flight answered, then close 1001, clean exit', async () => {
    await drainUnderLoad({ kind: 'ws', platform, ownPort: true });
  });

  it('Socket.IO gateway: acks in flight delivered, then a transport close', async () => {
    await drainUnderLoad({ kind: 'io', platform, ownPort: true });
  });
});

describe('Socket.IO clients on HTTP long-polling (express)', () => {
  it('acks in flight delivered; the client reconnects by itself (transport close or transport error); the HTTP drain is not held by the poll', async () => {
    await drainUnderLoad({ kind: 'io', platform: 'express', polling: true });
  });
});

describe('GraphQL subscriptions over graphql-ws (Apollo, express)', () => {
  it('queries in flight answered, subscriptions closed with 1001, clean exit', async () => {
    await drainUnderLoad({ kind: 'gql', platform: 'express' });
  });
});

describe('a gateway handler slower than the transports phase (ws, express)', () => {
  it('is named in the report as a message in flight; its connection gets 1001 at the timeout; exit 1', async () => {
    const app = start('gateway-app', { KIND: 'ws', HANDLER_MS: '20000', QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 500 } }) });
    const port = await app.ready();
    const clients = Array.from({ length: 4 }, (_, i) => wsClient(port, `slow${i}`));
    await lines(app, /^ev:start /, 4);

    app.kill('SIGTERM');
    const [ends, exit] = await Promise.all([Promise.all(clients.map((c) => c.ended)), app.exited]);

    expect(ends.map((e) => [e.close, e.replied.length, e.errors])).toEqual(ends.map(() => ['1001', 0, []]));
    const report = await app.report();
    expect(report).toEqual({ ok: false, pending: [`transports: ws:${port}: 4 message(s) in flight, 4 connection(s) open`] });
    expect(app.events().filter((e) => e.startsWith('drained'))).toEqual([`drained http:${port}`, `drained ws:${port} forced`]);
    expect(exit).toMatchObject({ code: 1, signal: null });
  });
});

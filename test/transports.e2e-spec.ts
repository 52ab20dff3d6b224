import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ClientProxyFactory, type ClientProxy } from '@nestjs/microservices';
import http from 'node:http';
import { lastValueFrom, timeout } from 'rxjs';
import { RmqDrainer } from '../lib/drainers/rpc-rmq.drainer.js';
import { intakes } from '../lib/drainers/rpc-intake.js';
import { TcpDrainer } from '../lib/drainers/rpc-tcp.drainer.js';
import { RpcDrainer } from '../lib/drainers/rpc.drainer.js';
import { FreezableProxy } from './helpers/brokers-proxy.js';
import { brokerPort, brokerReady } from './helpers/brokers.js';
import { childStarter, type Child, type Exit } from './helpers/child.js';
import { get } from './helpers/http.js';
import { transportClientOptions } from './src/transport-client.js';
import { freePort } from './helpers/ports.js';

// The test's own clients log their reconnects: keep them out of the output.
Logger.overrideLogger(['error']);

/**
 * Two replicas of one standalone microservice (test/src/transport-app.ts) on a real
 * broker, a steady stream of `send()` requests and `emit()` events from the test, SIGTERM
 * to replica A mid-stream. What every transport must give: every request answered, no
 * handler cut off or run after the pool closed, every message handled by one of the
 * replicas (exactly one where the transport routes each message to one consumer), and A
 * exits by itself, cleanly.
 */
const start = childStarter();
const clients: ClientProxy[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => Promise.resolve(c.close()).catch(() => undefined)));
});

type Kind = 'tcp' | 'redis' | 'nats' | 'mqtt' | 'rmq' | 'rmq-ack';

/**
 * The stream runs at least `STREAM_MS`, and goes on until A has exited (then `AFTER_EXIT_MS`
 * more), so a replica whose intake never stops is never idle: it would meet its phase
 * timeout and fail its report, whatever the machine's speed. `STREAM_MAX_MS` bounds it.
 * A gets its SIGTERM at `SIGTERM_AT_MS`; one message every `EVERY_MS`.
 */
const STREAM_MS = 2_000;
const AFTER_EXIT_MS = 300;
const STREAM_MAX_MS = 20_000;
const SIGTERM_AT_MS = 700;
const EVERY_MS = 5;
/** A request with no reply by then counts as timed out (nothing should come near it). */
const REPLY_TIMEOUT_MS = 8_000;
/** Each handler takes 40-300 ms: the slowest one bounds the drain. */
const handlerMs = (n: number) => 40 + ((n * 37) % 261);

function clientFor(kind: Kind, port: number, queue = QUEUE[kind]): ClientProxy {
  const o = transportClientOptions(kind === 'rmq-ack' ? 'rmq' : kind, port, queue);
  const c = ClientProxyFactory.create(o as never) as unknown as ClientProxy;
  clients.push(c);
  return c;
}

// One queue / group per case: a case never sees another's leftovers.
const QUEUE: Record<Kind, string> = {
  tcp: 'q-tcp',
  redis: 'q-redis',
  nats: 'q-nats',
  mqtt: 'q-mqtt',
  rmq: `q-rmq-${process.pid}`,
  'rmq-ack': `q-rmq-ack-${process.pid}`,
};

interface Outcome {
  sentRequests: string[];
  sentEvents: string[];
  /** Per request id: the reply's replica, or the error of its last attempt. */
  replies: Map<string, string>;
  errors: string[];
  /** TCP: attempts that failed on A with a closed connection and went to B. */
  retried: number;
  exitA: Exit;
  a: Child;
  b: Child;
}

const lines = (app: Child, prefix: string) => app.lines.filter((l) => l.startsWith(`ev:${prefix} `)).map((l) => l.split(' ')[1]);

async function run(kind: Kind): Promise<Outcome> {
  const env = (replica: string, port: number) => ({
    TRANSPORT: kind,
    BROKER_PORT: String(port),
    REPLICA: replica,
    QUEUE: QUEUE[kind],
    // A's event loop is busy for 100 ms at the signal: the drain starts with messages unread in its socket.
    BUSY_AT_SIGTERM_MS: '100',
  });
  const brokerKind = kind === 'rmq-ack' ? 'rmq' : kind;
  const port = kind === 'tcp' ? 0 : brokerPort(brokerKind as 'redis' | 'nats' | 'mqtt' | 'rmq');
  const a = start('transport-app', env('a', port));
  const b = start('transport-app', env('b', port));
  const [portA, portB] = await Promise.all([a.ready(), b.ready()]);

  // TCP: two pipelining clients per replica; a broker: one client (the broker spreads the work).
  const toA = kind === 'tcp' ? [clientFor(kind, portA), clientFor(kind, portA)] : [clientFor(kind, port)];
  const toB = kind === 'tcp' ? [clientFor(kind, portB), clientFor(kind, portB)] : toA;
  await Promise.all([...new Set([...toA, ...toB])].map((c) => c.connect()));

  const out: Omit<Outcome, 'exitA'> = { sentRequests: [], sentEvents: [], replies: new Map(), errors: [], retried: 0, a, b };
  const closedConnection = (e: Error) => /Connection closed|ECONNREFUSED|ECONNRESET|EPIPE|socket/i.test(e.message);
  const attempt = async <T>(n: number, call: (c: ClientProxy) => Promise<T>): Promise<T> => {
    const clientsNow = (n >> 1) % 2 === 0 ? toA : toB;
    try {
      return await call(clientsNow[(n >> 2) % clientsNow.length]);
    } catch (error) {
      // A TCP request A never read fails at once with a closed connection: send it to B.
      if (kind !== 'tcp' || clientsNow === toB || !closedConnection(error as Error)) throw error;
      out.retried++;
      return call(toB[(n >> 2) % toB.length]);
    }
  };

  const pending: Promise<void>[] = [];
  const t0 = Date.now();
  let signalled = false;
  let exitedAt: number | undefined;
  void a.exited.then(() => (exitedAt = Date.now()));
  const streaming = () => {
    const now = Date.now();
    if (now - t0 >= STREAM_MAX_MS) return false;
    return now - t0 < STREAM_MS || exitedAt === undefined || now - exitedAt < AFTER_EXIT_MS;
  };
  for (let n = 0; streaming(); n++) {
    if (!signalled && Date.now() - t0 >= SIGTERM_AT_MS) {
      a.kill('SIGTERM');
      signalled = true;
    }
    // r r e e r r …: a broker that hands out messages in turn gives each replica both kinds.
    const isRequest = n % 4 < 2;
    const job = { id: `${isRequest ? 'r' : 'e'}${n}`, ms: handlerMs(n) };
    if (isRequest) {
      out.sentRequests.push(job.id);
      pending.push(
        attempt(n, (c) => lastValueFrom(c.send<{ id: string; by: string }>('work', job).pipe(timeout(REPLY_TIMEOUT_MS)))).then(
          (reply) => void out.replies.set(job.id, reply.id === job.id ? reply.by : `wrong reply ${reply.id}`),
          (error: Error) => void out.errors.push(`${job.id}: ${error.message ?? String(error)}`),
        ),
      );
    } else {
      out.sentEvents.push(job.id);
      pending.push(
        attempt(n, (c) => lastValueFrom(c.emit('note', job), { defaultValue: undefined })).then(
          () => undefined,
          (error: Error) => void out.errors.push(`${job.id}: ${error.message ?? String(error)}`),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, EVERY_MS));
  }
  await Promise.all(pending);
  const exitA = await a.exited;
  // Events have no reply: wait (bounded) until every one has been handled somewhere.
  const handledEvents = () => new Set([...lines(a, 'evt.end'), ...lines(b, 'evt.end')]).size;
  for (let i = 0; i < 200 && handledEvents() < out.sentEvents.length; i++) await new Promise((r) => setTimeout(r, 50));
  b.kill('SIGTERM');
  await b.exited;
  return { ...out, exitA };
}

/** The counts every transport must meet; `once`: the transport hands each message to one consumer. */
function expectDrained(o: Outcome, { once }: { once: boolean }): void {
  const ended = (prefix: 'req' | 'evt') => [...lines(o.a, `${prefix}.end`), ...lines(o.b, `${prefix}.end`)];
  const count = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
  const requests = count(ended('req'));
  const events = count(ended('evt'));
  const summary = {
    errors: o.errors,
    unanswered: o.sentRequests.filter((id) => !o.replies.has(id)).length,
    failedHandlers: [...lines(o.a, 'fail'), ...lines(o.b, 'fail')],
    // In flight on A and never finished there: cut off by the shutdown.
    cutOnA: [...lines(o.a, 'req.start'), ...lines(o.a, 'evt.start')].filter(
      (id) => !lines(o.a, 'req.end').includes(id) && !lines(o.a, 'evt.end').includes(id),
    ),
    requestsNeverHandled: o.sentRequests.filter((id) => !requests.has(id)).length,
    eventsNeverHandled: o.sentEvents.filter((id) => !events.has(id)).length,
    handledTwice: once ? [...requests, ...events].filter(([, n]) => n > 1).map(([id]) => id) : [],
    reportA: o.a.events().filter((e) => e.startsWith('report ')),
    exitA: { code: o.exitA.code, signal: o.exitA.signal },
  };
  expect(summary).toEqual({
    errors: [],
    unanswered: 0,
    failedHandlers: [],
    cutOnA: [],
    requestsNeverHandled: 0,
    eventsNeverHandled: 0,
    handledTwice: [],
    reportA: ['report {"ok":true,"pending":[]}'],
    exitA: { code: null, signal: 'SIGTERM' },
  });
  // Both replicas took part, A before and during its drain.
  expect(lines(o.a, 'req.end').length).toBeGreaterThan(0);
  expect(lines(o.b, 'req.end').length).toBeGreaterThan(0);
  // Generous: the slowest handler is 300 ms.
  expect(o.exitA.elapsedMs).toBeLessThan(5_000);
}

describe('NATS, MQTT, Redis and TCP on a real broker: two replicas, a steady stream, SIGTERM to one', () => {
  it('NATS (queue group): the subscriptions drain, nothing the server had routed is dropped', async () => {
    expectDrained(await run('nats'), { once: true });
  });

  it('MQTT (shared subscription, Mosquitto): unsubscribes, then handles what was delivered', async () => {
    expectDrained(await run('mqtt'), { once: true });
  });

  it('Redis (pub/sub reaches every replica): unsubscribes, every request answered', async () => {
    expectDrained(await run('redis'), { once: false });
  });

  it('TCP (two pipelining clients per replica): what A read is answered, what it did not read fails at once and goes to B', async () => {
    const o = await run('tcp');
    expectDrained(o, { once: true });
    expect(o.retried).toBeGreaterThan(0);
  });
});

// RabbitMQ boots in the background while the tests above run (test/helpers/brokers.setup.ts).
describe('RabbitMQ on a real broker: two replicas, a steady stream, SIGTERM to one', () => {
  beforeAll(() => brokerReady('rmq'), 120_000);

  it('default noAck: true: the consumer is cancelled, every delivered message is handled before the exit', async () => {
    expectDrained(await run('rmq'), { once: true });
  });

  it('noAck: false, acks in the handler: nothing handled twice, nothing lost', async () => {
    expectDrained(await run('rmq-ack'), { once: true });
  });
});

describe("TCP, the hybrid app that calls itself (NestJS's 03-microservices sample shape)", () => {
  it('SIGTERM: the HTTP requests in flight get their self-calls answered, pipelined clients are answered or fail at once, exit by itself', async () => {
    const tcpPort = await freePort();
    const app = start('transport-hybrid', { TCP_PORT: String(tcpPort) });
    const httpPort = await app.ready();
    const agent = new http.Agent({ keepAlive: true });
    try {
      // 16 HTTP requests in flight at the signal, each calling the app's own TCP service during the drain.
      const overHttp = Array.from({ length: 16 }, (_, i) =>
        get(httpPort, `/sum/h${i}?ms=${handlerMs(i)}`, agent).then(
          (r) => `${r.status} ${r.body}`,
          (e: Error) => e.message,
        ),
      );
      // Their first self-calls are answered before the stream starts: the app's connection to itself is open.
      const warm = () => lines(app, 'sum.end').filter((id) => id.endsWith('-before')).length;
      for (let i = 0; i < 1_000 && warm() < 16; i++) await new Promise((r) => setTimeout(r, 10));
      expect(warm()).toBe(16);
      const pipelined = [clientFor('tcp', tcpPort), clientFor('tcp', tcpPort)];
      await Promise.all(pipelined.map((c) => c.connect()));
      const sent: string[] = [];
      const replies = new Map<string, string>();
      const pending: Promise<void>[] = [];
      const t0 = Date.now();
      let signalled = false;
      for (let n = 0; Date.now() - t0 < 1_200; n++) {
        if (!signalled && Date.now() - t0 >= 400) {
          app.kill('SIGTERM');
          signalled = true;
        }
        const id = `t${n}`;
        sent.push(id);
        pending.push(
          lastValueFrom(pipelined[n % 2].send<number>('sum', { id, ms: handlerMs(n), values: [n, 1] }).pipe(timeout(REPLY_TIMEOUT_MS))).then(
            (sum) => void replies.set(id, sum === n + 1 ? 'ok' : `wrong sum ${sum}`),
            (e: Error) => void replies.set(id, e.message),
          ),
        );
        await new Promise((r) => setTimeout(r, EVERY_MS));
      }
      await Promise.all(pending);
      const http16 = await Promise.all(overHttp);
      const exit = await app.exited;

      const started = new Set(lines(app, 'sum.start'));
      const outcomes = [...replies.values()].reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>());
      const answered = outcomes.get('ok') ?? 0;
      const closed = [...outcomes].filter(([r]) => /Connection closed|ECONNREFUSED/.test(r)).reduce((s, [, n]) => s + n, 0);
      expect({
        http: http16,
        otherTcpOutcomes: [...outcomes.keys()].filter((r) => r !== 'ok' && !/Connection closed|ECONNREFUSED/.test(r)),
        // A request that failed with a closed connection was never started (the client may send it elsewhere).
        closedButStarted: [...replies].filter(([id, r]) => r !== 'ok' && started.has(id)).map(([id]) => id),
        cut: [...started].filter((id) => !lines(app, 'sum.end').includes(id)),
        failedHandlers: lines(app, 'fail'),
        report: app.events().filter((e) => e.startsWith('report ')),
        exit: { code: exit.code, signal: exit.signal },
      }).toEqual({
        http: Array.from({ length: 16 }, () => '200 6'),
        otherTcpOutcomes: [],
        closedButStarted: [],
        cut: [],
        failedHandlers: [],
        report: ['report {"ok":true,"pending":[]}'],
        exit: { code: null, signal: 'SIGTERM' },
      });
      expect(answered + closed).toBe(sent.length);
      expect(answered).toBeGreaterThan(0);
      expect(exit.elapsedMs).toBeLessThan(5_000);
    } finally {
      agent.destroy();
    }
  });
});

describe('RabbitMQ outage during the drain (a proxy that stops forwarding: nothing refused, nothing answers)', () => {
  beforeAll(() => brokerReady('rmq'), 120_000);

  it('the cancel and the replies go unconfirmed: the drain is bounded, the report names them, no unhandled "Channel closed"; the broker redelivers to B', async () => {
    const proxy = await FreezableProxy.start(brokerPort('rmq'));
    const queue = `q-rmq-outage-${process.pid}`;
    const env = { TRANSPORT: 'rmq-ack', QUEUE: queue, QUIT_OPTIONS: JSON.stringify({ timeoutMs: 5_000, phaseTimeouts: { transports: 1_500 } }) };
    try {
      const a = start('transport-app', { ...env, REPLICA: 'a', BROKER_PORT: String(proxy.port) });
      await a.ready();
      const c = clientFor('rmq', brokerPort('rmq'), queue);
      await c.connect();
      const ids = Array.from({ length: 8 }, (_, i) => `o${i}`);
      const replies = ids.map((id) =>
        lastValueFrom(c.send<{ id: string; by: string }>('work', { id, ms: 300 }).pipe(timeout(30_000))).then(
          (r) => r.by,
          (e: Error) => e.message,
        ),
      );
      await until(a, 'req.start', 8);
      proxy.freeze();
      a.kill('SIGTERM');
      const exitA = await a.exited;
      // The app is gone; the broker sees its connection close and requeues the 8 unacknowledged messages.
      const b = start('transport-app', { ...env, REPLICA: 'b', BROKER_PORT: String(brokerPort('rmq')) });
      await b.ready();
      await proxy.close();
      const answeredBy = await Promise.all(replies);
      b.kill('SIGTERM');
      await b.exited;

      const report = a.events().find((e) => e.startsWith('report '));
      expect({
        answeredBy,
        handledOnA: lines(a, 'req.end').length,
        reportOk: report?.startsWith('report {"ok":false'),
        hooksRan: a.events().includes('phase.hooks'),
        unhandled: a.stderr.join('').includes('Channel closed'),
        exitA: exitA.code,
      }).toEqual({ answeredBy: ids.map(() => 'b'), handledOnA: 8, reportOk: true, hooksRan: true, unhandled: false, exitA: 1 });
      expect(report).toContain('8 repl(ies) not confirmed by the broker');
      expect(report).toContain('consumer cancel not confirmed');
      // Bounded by the deadline (5 s), whatever the broker does.
      expect(exitA.elapsedMs).toBeLessThan(9_000);
    } finally {
      await proxy.close().catch(() => undefined);
    }
  }, 60_000);
});

async function until(app: Child, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < 1_000 && lines(app, prefix).length < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(lines(app, prefix).length).toBe(n);
}

describe("when a library's internals moved (unit: a strategy without the fields read)", () => {
  it('RabbitMQ, NATS, MQTT, Redis, TCP: the drain warns once, naming the field, and still completes; nothing throws', async () => {
    const warnings: string[] = [];
    const logger = { log() {}, error() {}, warn: (m: string) => void warnings.push(m) };
    const bare = (transportId: number) => ({ transportId, close: () => undefined, unwrap: <T>() => ({}) as T });
    const drainers = [
      new RmqDrainer(bare(5), async () => undefined, 'rmq'),
      new RpcDrainer(bare(2), 'nats', async () => undefined, intakes.nats, 'nats'),
      new RpcDrainer(bare(3), 'mqtt', async () => undefined, intakes.mqtt, 'mqtt'),
      new RpcDrainer(bare(1), 'redis', async () => undefined, intakes.redis, 'redis'),
      new RpcDrainer(bare(6), 'kafka', async () => undefined, intakes.kafka, 'kafka'),
      new TcpDrainer(bare(0), async () => undefined),
    ];
    for (const d of drainers) {
      d.logger = logger;
      await d.stopIntake();
      await d.drain();
    }
    expect(warnings).toEqual([
      'rmq: ServerRMQ#setupChannel not found: consumer tags come from the channel, reconnects during the drain consume again',
      'rmq: ServerRMQ#channel not found: consumer not cancelled',
      'nats: ServerNats#subscriptions not found: intake not stopped',
      'mqtt: ServerMqtt#unwrap() gave no MQTT client: intake not stopped',
      'redis: ServerRedis#unwrap() gave no subscriber client: intake not stopped',
      'kafka: ServerKafka#unwrap() gave no consumer: intake not stopped',
      'tcp: ServerTCP#handleMessage not found: connections are not drained one by one',
      'tcp: ServerTCP#unwrap() gave no net.Server: new connections are not refused',
    ]);
    // These bare strategies have no handler seam either: the pending lines say so (the
    // warning for that comes from the finder, at discovery: test/rpc-finder.spec.ts).
    expect(drainers.map((d) => d.pending())).toEqual([
      ['rmq: messages in flight not counted'],
      ['nats: messages in flight not counted'],
      ['mqtt: messages in flight not counted'],
      ['redis: messages in flight not counted'],
      ['kafka: messages in flight not counted'],
      ['tcp: requests in flight not counted, 0 connection(s) open'],
    ]);
  });
});

describe('Kafka (no broker here: the intake stop against the consumer ServerKafka unwraps, unit)', () => {
  it("pauses every topic the handlers subscribed to, through kafkajs's consumer.pause()", async () => {
    const paused: unknown[] = [];
    const consumer = { pause: (topics: unknown) => void paused.push(topics) };
    const strategy = {
      transportId: 6,
      close: () => undefined,
      unwrap: <T>() => [{}, consumer, {}] as T,
      getHandlers: () => new Map([['orders.created', () => undefined], ['orders.paid', () => undefined]]),
    };
    const drainer = new RpcDrainer(strategy, 'kafka', async () => undefined, intakes.kafka, 'kafka');
    await drainer.stopIntake();
    expect(paused).toEqual([[{ topic: 'orders.created' }, { topic: 'orders.paid' }]]);
  });
});

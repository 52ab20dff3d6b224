// Every Nest microservice transport on a real broker (Debian's redis-server, nats-server,
// mosquitto, rabbitmq-server, started here on loopback): two replicas of a standalone
// microservice, a steady stream of send() requests and emit() events, SIGTERM to replica A
// mid-stream. Nest alone (`enableShutdownHooks()`) against nestjs-quit. Counts, not times,
// are what matter here; SIGTERM → exit is given for both.
import { ClientProxyFactory } from '@nestjs/microservices';
import { Logger } from '@nestjs/common';
import os from 'node:os';
import { lastValueFrom, timeout } from 'rxjs';
import { built, median, signalAndTime, startApp } from './lib.mjs';

export const title = 'Microservice transports: messages lost and handled twice at SIGTERM, two replicas on a real broker';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STREAM_MS = 2_000;
const SIGTERM_AT_MS = 700;
const EVERY_MS = 5;
const REPLY_TIMEOUT_MS = 12_000;
const KILL_AFTER_MS = 15_000;
const handlerMs = (n) => 40 + ((n * 37) % 261);
const file = built('test/src/transport-app.js');
const { transportClientOptions } = await import(built('test/src/transport-client.js'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const KINDS = [
  ['rmq', 'RabbitMQ, `noAck: true` (Nest default)'],
  ['rmq-ack', 'RabbitMQ, `noAck: false`, ack in the handler'],
  ['nats', 'NATS, queue group'],
  ['mqtt', 'MQTT (Mosquitto), shared subscription'],
  ['redis', 'Redis pub/sub (every replica gets every message)'],
  ['tcp', 'TCP, 2 pipelining clients per replica'],
];
const VARIANTS = [
  ['bare', 'Nest alone'],
  ['quit', 'nestjs-quit'],
];

function clientFor(kind, port, queue) {
  return ClientProxyFactory.create(transportClientOptions(kind === 'rmq-ack' ? 'rmq' : kind, port, queue));
}

const evLines = (out, prefix) => out().split('\n').filter((l) => l.startsWith(`ev:${prefix} `)).map((l) => l.split(' ')[1]);

async function once(kind, variant, ports, run) {
  const queue = `bench-${kind}-${variant}-${run}-${process.pid}`;
  const port = kind === 'tcp' ? 0 : ports[kind === 'rmq-ack' ? 'rmq' : kind];
  const env = (replica) => ({ TRANSPORT: kind, BROKER_PORT: String(port), REPLICA: replica, QUEUE: queue, BARE: variant === 'bare' ? '1' : '0' });
  const a = startApp(file, env('a'));
  const b = startApp(file, env('b'));
  const [portA, portB] = await Promise.all([a.ready, b.ready]);
  const toA = kind === 'tcp' ? [clientFor(kind, portA), clientFor(kind, portA)] : [clientFor(kind, port, queue)];
  const toB = kind === 'tcp' ? [clientFor(kind, portB), clientFor(kind, portB)] : toA;
  const all = [...new Set([...toA, ...toB])];
  await Promise.all(all.map((c) => c.connect()));
  const sent = { requests: [], events: [] };
  const replies = new Map();
  let errors = 0;
  let retried = 0;
  const closed = (e) => /Connection closed|ECONNREFUSED|ECONNRESET|EPIPE/i.test(e?.message ?? '');
  const attempt = async (n, call) => {
    const group = (n >> 1) % 2 === 0 ? toA : toB;
    try {
      return await call(group[(n >> 2) % group.length]);
    } catch (error) {
      if (kind !== 'tcp' || group === toB || !closed(error)) throw error;
      retried++;
      return call(toB[(n >> 2) % toB.length]);
    }
  };
  const pending = [];
  const t0 = performance.now();
  let exitP;
  for (let n = 0; performance.now() - t0 < STREAM_MS; n++) {
    if (!exitP && performance.now() - t0 >= SIGTERM_AT_MS) exitP = signalAndTime(a, 'SIGTERM', KILL_AFTER_MS);
    const isRequest = n % 4 < 2;
    const job = { id: `${isRequest ? 'r' : 'e'}${n}`, ms: handlerMs(n) };
    if (isRequest) {
      sent.requests.push(job.id);
      pending.push(
        attempt(n, (c) => lastValueFrom(c.send('work', job).pipe(timeout(REPLY_TIMEOUT_MS)))).then(
          (r) => replies.set(job.id, r.by),
          () => errors++,
        ),
      );
    } else {
      sent.events.push(job.id);
      pending.push(attempt(n, (c) => lastValueFrom(c.emit('note', job), { defaultValue: undefined })).catch(() => errors++));
    }
    await sleep(EVERY_MS);
  }
  const exit = await exitP;
  await Promise.all(pending);
  const handled = (prefix) => [...evLines(a.output, prefix), ...evLines(b.output, prefix)];
  for (let i = 0; i < 100 && new Set(handled('evt.end')).size < sent.events.length; i++) await sleep(50);
  await signalAndTime(b, 'SIGTERM', KILL_AFTER_MS);
  await Promise.all(all.map((c) => Promise.resolve(c.close()).catch(() => undefined)));
  const count = (ids) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map());
  const req = count(handled('req.end'));
  const evt = count(handled('evt.end'));
  const startedA = [...evLines(a.output, 'req.start'), ...evLines(a.output, 'evt.start')];
  const endedA = new Set([...evLines(a.output, 'req.end'), ...evLines(a.output, 'evt.end')]);
  return {
    sent: sent.requests.length + sent.events.length,
    unanswered: sent.requests.filter((id) => !replies.has(id)).length,
    neverHandled: sent.requests.filter((id) => !req.has(id)).length + sent.events.filter((id) => !evt.has(id)).length,
    cutOnA: startedA.filter((id) => !endedA.has(id)).length,
    twice: [...req.values(), ...evt.values()].filter((n) => n > 1).length,
    errors,
    retried,
    exit,
  };
}

export async function run() {
  Logger.overrideLogger(false);
  const { startBrokers } = await import(built('test/helpers/brokers.js'));
  const brokers = await startBrokers(['redis', 'nats', 'mqtt', 'rmq']);
  const ports = Object.fromEntries(brokers.map((b) => [b.name, b.port]));
  const rows = [];
  try {
    for (const [kind, label] of KINDS) {
      for (const [variant, vlabel] of VARIANTS) {
        const results = [];
        for (let r = 0; r < RUNS; r++) {
          const res = await once(kind, variant, ports, r);
          results.push(res);
          process.stderr.write(`${kind} ${variant} #${r + 1}: ${JSON.stringify({ ...res, exit: { ms: Math.round(res.exit.ms), code: res.exit.code, signal: res.exit.signal } })}\n`);
        }
        rows.push({ label, vlabel, kind, results });
      }
    }
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
  }
  const range = (xs) => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);
  const exitOf = (e) => (e.killed ? 'killed at 15 s' : e.code === null ? e.signal : `code ${e.code}`);
  const table = rows.map(({ label, vlabel, kind, results }) => {
    const f = (k) => range(results.map((x) => x[k]));
    const exits = [...new Set(results.map((x) => exitOf(x.exit)))].join(', ');
    return `| ${label} | ${vlabel} | ${f('sent')} | ${f('unanswered')} | ${f('neverHandled')} | ${f('cutOnA')} | ${kind === 'redis' ? '(by design)' : f('twice')} | ${median(results.map((x) => x.exit.ms)).toFixed(0)} ms (max ${Math.max(...results.map((x) => x.exit.ms)).toFixed(0)}) | ${exits} |`;
  });
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
  return `Command: \`npm run bench -- transports\` (${RUNS} runs per row), on ${machine}. Two replicas of a standalone
microservice (\`test/src/transport-app.ts\`: a request handler and an event handler, each taking
40–300 ms and then using a pool closed in \`onModuleDestroy\`) on brokers started by the benchmark
on loopback (redis-server, nats-server, mosquitto, rabbitmq-server from Debian). One message every
${EVERY_MS} ms for ${STREAM_MS / 1000} s, requests (\`send()\`) and events (\`emit()\`) in turn, SIGTERM to replica A at
${SIGTERM_AT_MS} ms. TCP clients send a request that failed on A with a closed connection to B once.
"Unanswered": a request with no reply (error or ${REPLY_TIMEOUT_MS / 1000} s timeout); "never handled": a message no replica
finished; "cut on A": started on A and never finished there; "twice": finished by both replicas.

| transport | app | messages sent | unanswered | never handled | cut on A | handled twice | A: SIGTERM → exit, median | A exits by |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${table.join('\n')}

Nest alone closes the broker connection at once: the handlers running on A are cut off (their pool
closes under them), and with NATS, MQTT and RabbitMQ's default \`noAck: true\` what A had received is
lost with them (with \`noAck: false\` RabbitMQ redelivers it to B; Redis and TCP here only look whole
because B also got every Redis message, and the TCP clients resend to B). nestjs-quit stops intake
with the broker's own call, lets A finish what it had received, and exits in about the slowest
handler (300 ms).
`;
}

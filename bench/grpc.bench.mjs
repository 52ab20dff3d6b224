// gRPC under load, SIGTERM mid-load, in a hybrid app (HTTP + gRPC): bare Nest,
// Nest with `gracefulShutdown: true`, and nestjs-quit. Then one never-ending server
// stream open at SIGTERM. Real processes, one grpc-js client channel, loopback.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { built, fmt, median, root, signalAndTime, startApp } from './lib.mjs';

export const title = 'gRPC: unary calls in flight and a never-ending stream at SIGTERM';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONCURRENCY = 32;
const CALL_MS = 200;
const WARMUP_MS = 1_000;
const TRANSPORTS_MS = 2_000;
const HANG_KILL_MS = 10_000;
const VARIANTS = [
  ['default', 'Nest 12, `enableShutdownHooks()`'],
  ['graceful', 'Nest 12, gRPC `gracefulShutdown: true`'],
  ['quit', 'Nest 12 + `QuitModule.forRoot()`'],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(root, 'test', 'proto', 'work.proto')));
const file = built('bench/apps/grpc-app.js');

function connect(port) {
  const client = new pkg.quittest.Work(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + 5_000, (e) => (e ? reject(e) : resolve(client))));
}

/** 32 callers loop `Slow(200 ms)`, staggered so that calls end at different moments; SIGTERM after 1 s. */
async function underLoad(variant) {
  const app = startApp(file, { VARIANT: variant, TRANSPORTS_MS: String(TRANSPORTS_MS) });
  const client = await connect(await app.ready);
  const calls = [];
  let signalled = false;
  const caller = async (i) => {
    await sleep((i * CALL_MS) / CONCURRENCY);
    while (!signalled) {
      const call = { start: performance.now() };
      calls.push(call);
      await new Promise((resolve) =>
        client.Slow({ id: i, ms: CALL_MS }, (error) => {
          call.end = performance.now();
          call.code = error ? error.code : grpc.status.OK;
          resolve();
        }),
      );
    }
  };
  const callers = Array.from({ length: CONCURRENCY }, (_, i) => caller(i));
  await sleep(WARMUP_MS);
  signalled = true; // no caller starts a call after this line
  const t0 = performance.now();
  const exit = await signalAndTime(app, 'SIGTERM', 15_000);
  await Promise.all(callers);
  client.close();
  const inFlight = calls.filter((c) => c.start < t0 && !(c.end < t0));
  return {
    exit,
    inFlight: inFlight.length,
    lost: inFlight.filter((c) => c.code !== grpc.status.OK).length,
    codes: [...new Set(inFlight.filter((c) => c.code !== grpc.status.OK).map((c) => grpc.status[c.code]))],
    // The earliest the process could exit having finished every call in flight.
    lowerBound: Math.max(0, ...inFlight.map((c) => c.start + CALL_MS - t0)),
    lastAnswer: Math.max(0, ...inFlight.map((c) => c.end - t0)),
    slowestCall: Math.max(0, ...inFlight.map((c) => c.end - c.start)),
  };
}

/** One `Forever` stream open at SIGTERM: how the process ends, and how the stream does. */
async function neverEndingStream(variant) {
  const app = startApp(file, { VARIANT: variant, TRANSPORTS_MS: String(TRANSPORTS_MS) });
  const client = await connect(await app.ready);
  const stream = client.Forever({ intervalMs: 50 });
  stream.on('error', () => undefined);
  await new Promise((resolve) => stream.once('data', resolve));
  const status = new Promise((resolve) => stream.on('status', (s) => resolve(grpc.status[s.code])));
  const exit = await signalAndTime(app, 'SIGTERM', HANG_KILL_MS);
  const ended = await Promise.race([status, sleep(500).then(() => 'still open')]);
  client.close();
  return { exit, ended };
}

const exitText = (exit) => (exit.killed ? `**hung**: killed (SIGKILL) after ${HANG_KILL_MS / 1000} s` : `${exit.signal ?? `code ${exit.code}`}`);

export async function run() {
  const results = Object.fromEntries(VARIANTS.map(([v]) => [v, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [variant] of i % 2 ? [...VARIANTS].reverse() : VARIANTS) {
      const r = await underLoad(variant);
      results[variant].push(r);
      process.stderr.write(
        `${variant}: in flight ${r.inFlight}, lost ${r.lost}, exit ${r.exit.ms.toFixed(0)} ms, bound ${r.lowerBound.toFixed(0)} ms, last answer ${r.lastAnswer.toFixed(0)} ms\n`,
      );
    }
  }
  const loadRows = VARIANTS.map(([v, label]) => {
    const rs = results[v];
    const lost = rs.map((r) => r.lost);
    const inFlight = rs.map((r) => r.inFlight);
    const exitMs = rs.map((r) => r.exit.ms);
    const codes = [...new Set(rs.flatMap((r) => r.codes))].join(', ') || '–';
    const exits = [...new Set(rs.map((r) => exitText(r.exit)))].join(', ');
    return `| ${label} | ${Math.min(...inFlight)}–${Math.max(...inFlight)} | ${Math.min(...lost)}–${Math.max(...lost)} | ${codes} | ${fmt(median(exitMs))} (max ${fmt(Math.max(...exitMs))}) | ${fmt(median(rs.map((r) => r.lowerBound)))} | ${exits} |`;
  });
  const ours = results.quit;
  const target = (r) => 1.1 * r.slowestCall + 30;
  const within = ours.filter((r) => r.exit.ms <= target(r)).length;
  const ourRuns = ours
    .map((r) => `| ${fmt(r.exit.ms)} | ${fmt(r.lastAnswer)} | ${fmt(r.slowestCall)} | ${fmt(target(r))} | ${r.exit.ms <= target(r) ? 'yes' : '**no**'} |`)
    .join('\n');

  const streamRows = [];
  for (const [variant, label] of VARIANTS) {
    const r = await neverEndingStream(variant);
    process.stderr.write(`stream ${variant}: ${r.exit.ms.toFixed(0)} ms, ${exitText(r.exit)}, stream ${r.ended}\n`);
    streamRows.push(`| ${label} | ${r.exit.killed ? `> ${HANG_KILL_MS / 1000} s (killed)` : fmt(r.exit.ms)} | ${exitText(r.exit)} | ${r.ended} |`);
  }

  return `Command: \`npm run bench -- grpc\` (${RUNS} runs per variant, interleaved). A hybrid app
(\`bench/apps/grpc-app.ts\`: HTTP + gRPC via \`connectMicroservice\`); one grpc-js channel, ${CONCURRENCY} callers
each looping a unary call that takes exactly ${CALL_MS} ms, staggered so calls end at different
moments; SIGTERM after ${WARMUP_MS / 1000} s, and no caller starts a call after it. "In flight" = sent before the
signal, not answered by then; "lost" = of those, answered with an error. "Lower bound" = when the
last call in flight would finish: the earliest a process can exit having lost nothing.
nestjs-quit runs with \`phaseTimeouts.transports: ${TRANSPORTS_MS}\`.

| app | in flight at SIGTERM | lost | lost as | SIGTERM → exit, median | lower bound, median | exit |
| --- | --- | --- | --- | --- | --- | --- |
${loadRows.join('\n')}

Nest's \`gracefulShutdown: true\` loses no unary call here either: it waits for them, but in a hybrid app only
after every \`onModuleDestroy\` and the whole HTTP close (gRPC keeps taking new calls until then), and with
no deadline at all, which the stream below shows.

nestjs-quit, run by run: ${ours.reduce((n, r) => n + r.lost, 0)} of ${ours.reduce((n, r) => n + r.inFlight, 0)} calls in flight lost; SIGTERM → exit within the
target (1.1 × the slowest call in flight + 30 ms) in ${within} of ${RUNS} runs. "Last answer" = when the client got
the last reply, after the signal; the rest up to the exit is Nest's own close and the process ending.

| SIGTERM → exit | last answer | slowest call in flight | target | within |
| --- | --- | --- | --- | --- |
${ourRuns}

One server stream (\`Forever\`: a message every 50 ms, never completes, ignores the quit signal) open at SIGTERM,
same app, one run each; a process still alive ${HANG_KILL_MS / 1000} s after the signal is killed:

| app | SIGTERM → exit | exit | the client's stream |
| --- | --- | --- | --- |
${streamRows.join('\n')}

Nest's \`gracefulShutdown: true\` calls grpc-js \`tryShutdown()\` with no deadline, so one open stream keeps the
process alive until it is killed. nestjs-quit cancels it at the transport phase timeout (\`forceShutdown()\`),
reports it, and exits with \`failureExitCode\` (1).`;
}

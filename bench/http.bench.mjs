// HTTP shutdown under keep-alive load, for Express and Fastify: Nest's own options, the
// nestjs-graceful-shutdown peer and nestjs-quit, same app, same load. Then throughput on
// a trivial route with and without the module, and idle SIGTERM → exit.
import http from 'node:http';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { built, fmt, median, signalAndTime, startApp, throughput } from './lib.mjs';

export const title = 'HTTP: keep-alive load at SIGTERM, throughput, idle exit (Express and Fastify)';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONNECTIONS = 32;
const REQUEST_MS = 300;
const WARMUP_MS = 1_000;
const CLIENTS_STOP_AFTER_SIGNAL_MS = 5_000;
const KILL_AFTER_MS = 8_000;
const THROUGHPUT_ROUNDS = Number(process.env.BENCH_TP_ROUNDS ?? 10);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_TP_SECONDS ?? 2);
const IDLE_RUNS = Number(process.env.BENCH_IDLE_RUNS ?? 10);
const PLATFORMS = ['express', 'fastify'];
const VARIANTS = [
  ['nest', '`enableShutdownHooks()` only'],
  ['force', '+ `forceCloseConnections: true`'],
  ['503', '+ `return503OnClosing: true`'],
  ['peer', 'nestjs-graceful-shutdown 2.0 (http-terminator)'],
  ['quit', 'nestjs-quit'],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const file = built('bench/apps/http-shutdown.app.js');
const { Load } = await import(pathToFileURL(built('test/src/http-load-client.js')).href);
const { HttpDrainer } = await import(pathToFileURL(built('lib/drainers/http.drainer.js')).href);
const range = (xs) => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);
const exitText = (exit) => (exit.killed ? `**hung**, killed at ${KILL_AFTER_MS / 1000} s` : exit.signal ?? `code ${exit.code}`);

/** 32 keep-alive connections loop a 300 ms request (staggered); SIGTERM after 1 s. */
async function underLoad(platform, variant) {
  const app = startApp(file, { PLATFORM: platform, VARIANT: variant });
  const port = await app.ready;
  const load = new Load({
    port,
    connections: CONNECTIONS,
    path: `/slow?ms=${REQUEST_MS}`,
    expectBody: 'done',
    startSpreadMs: REQUEST_MS,
    stopAfterMs: WARMUP_MS + CLIENTS_STOP_AFTER_SIGNAL_MS,
    requestTimeoutMs: KILL_AFTER_MS,
  });
  const running = load.run();
  await sleep(WARMUP_MS);
  load.markSignal();
  const exit = await signalAndTime(app, 'SIGTERM', KILL_AFTER_MS);
  const r = await running;
  // The earliest a process can exit having answered every request in flight.
  const lowerBound = Math.max(0, REQUEST_MS - r.newestInFlightAgeMs);
  if (variant === 'quit' && exit.ms > 1.1 * lowerBound + 30) process.stderr.write(`  slow run: ${app.output().match(/phases .*/)?.[0]}\n`);
  return { exit, lowerBound, ...r };
}

/**
 * The work the module adds to one request, alone: a 'request' event emitted on a Node
 * HTTP server with and without the drainer's listener (the only per-request code of
 * nestjs-quit), best of 7 × 1,000,000. Machine noise cannot hide in it the way it does
 * in a throughput ratio.
 */
function addedPerRequestNs() {
  const emitter = (withDrainer) => {
    const server = http.createServer(() => undefined);
    if (withDrainer) new HttpDrainer(server, 250);
    const socket = new net.Socket();
    server.emit('connection', socket);
    const req = new http.IncomingMessage(socket);
    req.httpVersionMajor = 1;
    const res = new http.ServerResponse(req);
    return () => server.emit('request', req, res);
  };
  const time = (emit) => {
    const n = 1_000_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) emit();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const bare = emitter(false);
  const drained = emitter(true);
  const a = [];
  const b = [];
  for (let i = 0; i < 7; i++) {
    a.push(time(bare));
    b.push(time(drained));
  }
  return { bare: Math.min(...a), withDrainer: Math.min(...b) };
}

async function idle(platform) {
  const times = { nest: [], quit: [] };
  const exits = { nest: new Set(), quit: new Set() };
  for (let i = 0; i < IDLE_RUNS; i++) {
    for (const variant of i % 2 ? ['quit', 'nest'] : ['nest', 'quit']) {
      const app = startApp(file, { PLATFORM: platform, VARIANT: variant });
      await app.ready;
      await sleep(50);
      const exit = await signalAndTime(app, 'SIGTERM', KILL_AFTER_MS);
      times[variant].push(exit.ms);
      exits[variant].add(exitText(exit));
    }
  }
  return { times, exits };
}

export async function run() {
  const sections = [];
  const summary = [];
  for (const platform of PLATFORMS) {
    const results = Object.fromEntries(VARIANTS.map(([v]) => [v, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const [variant] of i % 2 ? [...VARIANTS].reverse() : VARIANTS) {
        const r = await underLoad(platform, variant);
        results[variant].push(r);
        process.stderr.write(
          `${platform} ${variant}: in flight ${r.inFlightAtSignal}, lost ${r.lostAtSignal}, resets ${r.resets}, 5xx ${r.status5xx}, 503 ${r.status503}, ` +
            `exit ${r.exit.ms.toFixed(0)} ms (${exitText(r.exit)}), bound ${r.lowerBound.toFixed(0)} ms, ok ${r.ok}, refused ${r.refused}, other ${r.otherErrors.length}\n`,
        );
      }
    }
    const rows = VARIANTS.map(([v, label]) => {
      const rs = results[v];
      const exitMs = rs.map((r) => r.exit.ms);
      const exits = [...new Set(rs.map((r) => exitText(r.exit)))].join(', ');
      const other = rs.reduce((n, r) => n + r.otherErrors.length + r.timeouts + r.badBodies + r.otherStatus, 0);
      return (
        `| ${label} | ${range(rs.map((r) => r.inFlightAtSignal))} | ${range(rs.map((r) => r.lostAtSignal))} | ${range(rs.map((r) => r.resets))} | ` +
        `${range(rs.map((r) => r.status5xx))} | ${range(rs.map((r) => r.status503))} | ${other} | ${fmt(median(exitMs))} (max ${fmt(Math.max(...exitMs))}) | ` +
        `${fmt(median(rs.map((r) => r.lowerBound)))} | ${exits} |`
      );
    });
    for (const [v, label] of VARIANTS) {
      if (results[v].some((r) => !r.exit.killed && r.exit.ms >= CLIENTS_STOP_AFTER_SIGNAL_MS - 100)) {
        summary.push(`- ${platform}, ${label}: kept-alive sockets stay busy (answered 500 once the pool is closed), so the process exits only after the clients give up, ${CLIENTS_STOP_AFTER_SIGNAL_MS / 1000} s after the signal; under endless load it would not exit.`);
      }
    }
    const ours = results.quit;
    const overBudget = ours.filter((r) => r.exit.ms > 1.1 * r.lowerBound + 30);
    summary.push(
      `- ${platform}: nestjs-quit lost ${ours.reduce((n, r) => n + r.lostAtSignal, 0)} of ${ours.reduce((n, r) => n + r.inFlightAtSignal, 0)} requests in flight over ${RUNS} runs, ` +
        `${ours.reduce((n, r) => n + r.resets, 0)} resets, ${ours.reduce((n, r) => n + r.status5xx + r.status503, 0)} 5xx; ` +
        `SIGTERM → exit within 1.1 × lower bound + 30 ms in ${RUNS - overBudget.length} of ${RUNS} runs` +
        (overBudget.length ? ` (over: ${overBudget.map((r) => `${fmt(r.exit.ms)} vs bound ${fmt(r.lowerBound)}`).join('; ')})` : '') +
        '.',
    );
    sections.push(`### ${platform === 'express' ? 'Express' : 'Fastify'}

| app | in flight at SIGTERM | lost | resets | 5xx (not 503) | 503s | other errors | SIGTERM → exit, median | lower bound, median | exit |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}`);
  }

  const tpRows = [];
  const idleRows = [];
  const cpuBare = {};
  for (const platform of PLATFORMS) {
    const tp = await throughput(file, platform, { connections: 50, rounds: THROUGHPUT_ROUNDS, seconds: THROUGHPUT_SECONDS });
    const ratio = median(tp.rates.quit) / median(tp.rates.nest);
    if (tp.cpuPerRequest.nest.length) cpuBare[platform] = median(tp.cpuPerRequest.nest);
    const cpu = tp.cpuPerRequest.nest.length ? `${median(tp.cpuPerRequest.nest).toFixed(1)} / ${median(tp.cpuPerRequest.quit).toFixed(1)} µs (${((median(tp.cpuPerRequest.nest) / median(tp.cpuPerRequest.quit)) * 100).toFixed(1)} %)` : 'n/a';
    process.stderr.write(`${platform} throughput: nest ${tp.rates.nest.map((x) => x.toFixed(0))}, quit ${tp.rates.quit.map((x) => x.toFixed(0))}; cpu/req ${cpu}\n`);
    tpRows.push(
      `| ${platform} | ${median(tp.rates.nest).toFixed(0)} (${Math.min(...tp.rates.nest).toFixed(0)}–${Math.max(...tp.rates.nest).toFixed(0)}) | ` +
        `${median(tp.rates.quit).toFixed(0)} (${Math.min(...tp.rates.quit).toFixed(0)}–${Math.max(...tp.rates.quit).toFixed(0)}) | **${(ratio * 100).toFixed(1)} %** | ${cpu} | ${tp.bad.nest} / ${tp.bad.quit} |`,
    );
    const id = await idle(platform);
    const diff = median(id.times.quit) - median(id.times.nest);
    idleRows.push(
      `| ${platform} | ${fmt(median(id.times.nest))} (max ${fmt(Math.max(...id.times.nest))}) | ${fmt(median(id.times.quit))} (max ${fmt(Math.max(...id.times.quit))}) | ` +
        `${diff >= 0 ? '+' : ''}${diff.toFixed(1)} ms | ${[...id.exits.nest].join(', ')} / ${[...id.exits.quit].join(', ')} |`,
    );
  }

  const added = addedPerRequestNs();
  const addedNs = added.withDrainer - added.bare;
  const share = Object.entries(cpuBare)
    .map(([platform, us]) => `${((addedNs / (us * 1000)) * 100).toFixed(2)} % of the CPU a request costs bare Nest on ${platform} (${us.toFixed(1)} µs)`)
    .join(', ');

  return `Command: \`npm run bench -- http\` (${RUNS} runs per app and platform, interleaved). One app
(\`bench/apps/http-shutdown.app.ts\`), one load: ${CONNECTIONS} keep-alive connections (one Node \`http.Agent\` each)
looping \`GET /slow\`, which takes exactly ${REQUEST_MS} ms and then uses a "pool" closed in \`onModuleDestroy\`
(a request still running then gets a 500); connections start staggered over ${REQUEST_MS} ms so requests end at
different moments; SIGTERM after ${WARMUP_MS / 1000} s. A connection loops until the server refuses it (ECONNREFUSED:
the request never reached the server) or ${CLIENTS_STOP_AFTER_SIGNAL_MS / 1000} s after the signal; a process still alive
${KILL_AFTER_MS / 1000} s after the signal is killed. "In flight" = sent before the signal and not answered by then;
"lost" = of those, not answered with a complete 2xx. Resets (ECONNRESET, socket hang up), 5xx and 503s count
every request of the run. "Lower bound" = when the newest request in flight would finish: the earliest a process
can exit having lost nothing. nestjs-quit runs with its defaults (\`QuitModule.forRoot()\`).

${sections.join('\n\n')}

${summary.join('\n')}
Target: lost 0, resets 0, 5xx 0; SIGTERM → exit ≤ 1.1 × lower bound + 30 ms.

Throughput on \`GET /ping\`: bare Nest and Nest + \`QuitModule.forRoot()\` run side by side and take turns,
${THROUGHPUT_ROUNDS} rounds of ${THROUGHPUT_SECONDS} s each (autocannon, 50 connections, after a 1 s warm-up each); the load
generator and the servers share the machine. The server's CPU time per request (from \`/proc\`) is the steadier
figure when other processes load the machine.

| platform | bare Nest, req/s, median (min–max) | with nestjs-quit, req/s, median (min–max) | ratio of medians | CPU per request, bare / quit (ratio) | errors + non-2xx (bare / quit) |
| --- | --- | --- | --- | --- | --- |
${tpRows.join('\n')}

Target: ≥ 98 %. The work nestjs-quit adds to a request, measured alone (a \`request\` event on a Node HTTP server
with and without the drainer's listener, best of 7 × 1,000,000): ${added.bare.toFixed(1)} → ${added.withDrainer.toFixed(1)} ns,
**+${addedNs.toFixed(1)} ns per request**, ${share}. Differences in the table beyond that are the noise of a shared machine.

Idle SIGTERM → exit (${IDLE_RUNS} runs each, interleaved; no load, \`enableShutdownHooks()\`):

| platform | bare Nest | with nestjs-quit | difference of medians | exit (bare / quit) |
| --- | --- | --- | --- | --- |
${idleRows.join('\n')}`;
}

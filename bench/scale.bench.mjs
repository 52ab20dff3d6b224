// The HTTP drain at scale (Express and Fastify): N idle keep-alive clients beside 32 busy
// ones, SIGTERM mid-load; nestjs-quit beside Nest's `return503OnClosing` and a bare Node
// floor (idle sockets closed the moment the drain starts), runs interleaved. Then idle-only
// SIGTERM → exit, throughput at 50 and 1,000 connections, and HTTP/2 (Fastify, TLS).
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { built, cpuMs, fmt, median, signalAndTime, startApp, throughput } from './lib.mjs';

export const title = 'HTTP at scale: thousands of keep-alive connections at SIGTERM (Express, Fastify, HTTP/2)';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = (process.env.BENCH_SCALE_SIZES ?? '100,1000,10000').split(',').map(Number);
const BUSY = 32;
const REQUEST_MS = 300;
const THINK_MS = [1_000, 3_000];
/** Past 1,000 clients the think time grows, so that the idle clients send ~1,000 requests/s in all and the load generator and the server (one 2-core machine) keep up. */
const thinkFor = (n) => (n <= 1_000 ? THINK_MS : [(THINK_MS[0] * n) / 2_000, (THINK_MS[1] * n) / 2_000]);
const KILL_AFTER_MS = 15_000;
const PLATFORMS = ['express', 'fastify'];
const VARIANTS = [
  ['quit', 'nestjs-quit'],
  ['503', 'Nest `return503OnClosing`'],
  ['floor', 'bare Node floor'],
];
const IDLE_ONLY = Number(process.env.BENCH_IDLE_ONLY ?? 1_000);
const TP_ROUNDS = Number(process.env.BENCH_TP_ROUNDS ?? 4);
const TP_SECONDS = 2;
const H2_SESSIONS = 200;
const H2_STREAMS = 10;
const PARTS = new Set((process.env.BENCH_SCALE_PARTS ?? 'scale,idle,tp,h2').split(','));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nestApp = built('bench/apps/http-shutdown.app.js');
const floorApp = built('bench/apps/http-floor.app.js');
const { RawClients } = await import(pathToFileURL(built('test/src/http-raw-clients.js')).href);
const { Load } = await import(pathToFileURL(built('test/src/http-load-client.js')).href);
const { tlsFiles } = await import(pathToFileURL(built('test/src/http-tls.js')).href);
const range = (xs) => (Math.min(...xs) === Math.max(...xs) ? `${Math.round(xs[0])}` : `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`);
const exitText = (exit) => (exit.killed ? '**killed**' : exit.signal ?? `code ${exit.code}`);

function fdLimit() {
  try {
    return Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
  } catch {
    return Infinity;
  }
}

/** Follows a process's CPU time until it exits: the last reading before the exit (5 ms apart). */
function watchCpu(pid) {
  let last = cpuMs(pid);
  const start = last;
  const timer = setInterval(() => {
    const v = cpuMs(pid);
    if (v !== undefined) last = v;
  }, 5);
  return () => {
    clearInterval(timer);
    return last - start;
  };
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function start(platform, variant) {
  return variant === 'floor' ? startApp(floorApp, { STAMPS: '1' }) : startApp(nestApp, { PLATFORM: platform, VARIANT: variant === '503' ? '503' : variant, STAMPS: '1' });
}

/** The server's own clock (bench/apps/exit-stamps.ts): its last 200 answer and its exit, epoch ms. */
function stamps(app) {
  const m = /^stamps lastOk=([\d.]+) exit=([\d.]+)$/m.exec(app.output());
  if (!m) throw new Error(`no exit stamps from the server: ${app.output()}`);
  return { lastOk: Number(m[1]), exit: Number(m[2]) };
}

/** N idle clients (a request every 1–3 s each, think times from `seed`) and 32 busy ones (300 ms requests back to back); SIGTERM. */
async function underScale(platform, variant, n, seed) {
  const app = start(platform, variant);
  const port = await app.ready;
  await sleep(200);
  const heap0 = Number(await get(port, '/heap'));
  const idle = new RawClients({ port, connections: n, path: '/slow?ms=1', thinkMs: thinkFor(n), firstRequestWithinMs: THINK_MS[1], rampMs: Math.max(200, n / 5), stopAfterMs: 120_000, seed });
  await idle.start();
  await sleep(THINK_MS[1] + 200); // every idle client has made its first request
  const heapN = Number(await get(port, '/heap'));
  const busy = new RawClients({ port, connections: BUSY, path: `/slow?ms=${REQUEST_MS}`, thinkMs: [0, 0], rampMs: REQUEST_MS, stopAfterMs: 120_000 });
  await busy.start();
  await sleep(1_000);
  idle.markSignal();
  busy.markSignal();
  const cpu = watchCpu(app.proc.pid);
  const signalAt = performance.timeOrigin + performance.now();
  const exit = await signalAndTime(app, 'SIGTERM', KILL_AFTER_MS);
  const cpuAfter = cpu();
  const [i, b] = await Promise.all([idle.finished(), busy.finished()]);
  const lastAnswer = Math.max(i.lastAnswerAfterSignalMs, b.lastAnswerAfterSignalMs);
  const server = stamps(app);
  if (process.env.BENCH_DEBUG) process.stderr.write(`  idle ${JSON.stringify(i)}\n  busy ${JSON.stringify(b)}\n`);
  return {
    lost: i.lostAtSignal + b.lostAtSignal,
    non200: i.otherStatus + b.otherStatus,
    inFlight: i.inFlightAtSignal + b.inFlightAtSignal,
    resets: i.resets + b.resets,
    idleResets: i.resets,
    exit,
    cpuAfter,
    heapPerConn: (heapN - heap0) / n,
    afterLast: exit.ms - lastAnswer,
    // On the server's clock: from its last 200 answer after SIGTERM (SIGTERM if none) to its exit.
    serverAfterLast: server.exit - Math.max(server.lastOk, signalAt),
    serverExit: server.exit - signalAt,
    slowest: Math.max(i.slowestInFlightMs, b.slowestInFlightMs),
  };
}

/** N connections that made one request each and then idle for a second; nothing in flight. */
async function idleOnly(platform, variant) {
  const app = startApp(nestApp, { PLATFORM: platform, VARIANT: variant });
  const port = await app.ready;
  const idle = new RawClients({ port, connections: IDLE_ONLY, path: '/ping', thinkMs: [60_000, 60_000], firstRequestWithinMs: 100, rampMs: 200, stopAfterMs: 120_000 });
  await idle.start();
  await sleep(1_000);
  const exit = await signalAndTime(app, 'SIGTERM', KILL_AFTER_MS);
  idle.destroy();
  return exit;
}

/** HTTP/2 over TLS (Fastify): 200 sessions × 10 streams looping a 300 ms request; SIGTERM. */
async function h2(tls) {
  const app = startApp(built('test/src/http-load.app.js'), { PLATFORM: 'fastify', PROTO: 'h2', TLS_KEY: tls.key, TLS_CERT: tls.cert });
  const port = await app.ready;
  const load = new Load({
    port,
    protocol: 'h2',
    connections: H2_SESSIONS,
    streamsPerConnection: H2_STREAMS,
    path: `/slow?ms=${REQUEST_MS}`,
    expectBody: 'done',
    ca: readFileSync(tls.cert),
    startSpreadMs: REQUEST_MS,
    stopAfterMs: 20_000,
    requestTimeoutMs: KILL_AFTER_MS,
  });
  const running = load.run();
  await sleep(2_000);
  load.markSignal();
  const cpu = watchCpu(app.proc.pid);
  const exit = await signalAndTime(app, 'SIGTERM', KILL_AFTER_MS);
  const cpuAfter = cpu();
  const r = await running;
  return { exit, cpuAfter, ...r, bound: Math.max(0, REQUEST_MS - r.newestInFlightAgeMs) };
}

export async function run() {
  const limit = fdLimit();
  const sizes = SIZES.filter((n) => n + BUSY + 200 <= limit);
  const skipped = SIZES.filter((n) => !sizes.includes(n));
  if (skipped.length) process.stderr.write(`ulimit -n is ${limit}: skipping ${skipped.join(', ')} connections\n`);
  const tables = [];
  for (const platform of PARTS.has('scale') ? PLATFORMS : []) {
    const rows = [];
    for (const n of sizes) {
      const results = Object.fromEntries(VARIANTS.map(([v]) => [v, []]));
      for (let i = 0; i < RUNS; i++) {
        for (const [variant] of i % 2 ? [...VARIANTS].reverse() : VARIANTS) {
          // One think-time schedule per run, the same for the three servers: a request that
          // happens to fall on a server's close pass is not repeated in every run.
          const r = await underScale(platform, variant, n, i + 1);
          results[variant].push(r);
          process.stderr.write(
            `${platform} ${n} ${variant}: in flight ${r.inFlight}, lost ${r.lost}, non-200 ${r.non200}, resets ${r.resets}, exit ${r.exit.ms.toFixed(0)} ms (${exitText(r.exit)}), ` +
              `slowest ${r.slowest.toFixed(0)} ms, cpu ${r.cpuAfter} ms, heap/conn ${r.heapPerConn.toFixed(0)} B, exit-last ${r.afterLast.toFixed(0)} ms (server's clock ${r.serverAfterLast.toFixed(0)} ms, SIGTERM-exit ${r.serverExit.toFixed(0)} ms)\n`,
          );
        }
      }
      for (const [v, label] of VARIANTS) {
        const rs = results[v];
        rows.push(
          `| ${n.toLocaleString('en')} + ${BUSY} | ${label} | ${range(rs.map((r) => r.lost))} of ${range(rs.map((r) => r.inFlight))} | ${range(rs.map((r) => r.non200))} | ${range(rs.map((r) => r.resets))} (Σ ${rs.reduce((n, r) => n + r.resets, 0)}) | ` +
            `${fmt(median(rs.map((r) => r.exit.ms)))} (${range(rs.map((r) => r.exit.ms))}) | ${fmt(median(rs.map((r) => r.slowest)))} | ` +
            `${fmt(median(rs.map((r) => r.cpuAfter)))} (${range(rs.map((r) => r.cpuAfter))}) | ${(median(rs.map((r) => r.heapPerConn)) / 1024).toFixed(2)} KB | ` +
            `${fmt(median(rs.map((r) => r.afterLast)))} | ${fmt(median(rs.map((r) => r.serverAfterLast)))} | ${[...new Set(rs.map((r) => exitText(r.exit)))].join(', ')} |`,
        );
      }
    }
    tables.push(`### ${platform === 'express' ? 'Express' : 'Fastify'}

| open + busy | server | lost of in flight | non-200 answers | resets per run (total) | SIGTERM → exit, median (range) | slowest in flight, median | server CPU after SIGTERM, median (range) | heap per idle connection, median | exit − last answer, median | same, server's clock | exit |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}`);
  }

  const idleRows = [];
  for (const platform of PARTS.has('idle') ? PLATFORMS : []) {
    const times = { nest: [], quit: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const variant of i % 2 ? ['quit', 'nest'] : ['nest', 'quit']) {
        const exit = await idleOnly(platform, variant);
        times[variant].push(exit.ms);
        process.stderr.write(`${platform} idle-only ${variant}: exit ${exit.ms.toFixed(0)} ms (${exitText(exit)})\n`);
      }
    }
    idleRows.push(`| ${platform} | ${fmt(median(times.nest))} (${range(times.nest)}) | ${fmt(median(times.quit))} (${range(times.quit)}) | ${(median(times.quit) - median(times.nest)).toFixed(1)} ms |`);
  }

  const tpRows = [];
  for (const platform of PARTS.has('tp') ? PLATFORMS : []) {
    for (const connections of [50, 1_000]) {
      const tp = await throughput(nestApp, platform, { connections, rounds: TP_ROUNDS, seconds: TP_SECONDS });
      const ratio = median(tp.rates.quit) / median(tp.rates.nest);
      process.stderr.write(`${platform} ${connections} throughput: nest ${tp.rates.nest.map((x) => x.toFixed(0))}, quit ${tp.rates.quit.map((x) => x.toFixed(0))}\n`);
      tpRows.push(
        `| ${platform} | ${connections.toLocaleString('en')} | ${median(tp.rates.nest).toFixed(0)} | ${median(tp.rates.quit).toFixed(0)} | ${(ratio * 100).toFixed(1)} % | ` +
          `${median(tp.cpuPerRequest.nest).toFixed(1)} / ${median(tp.cpuPerRequest.quit).toFixed(1)} µs (${((median(tp.cpuPerRequest.nest) / median(tp.cpuPerRequest.quit)) * 100).toFixed(1)} %) |`,
      );
    }
  }

  const tls = tlsFiles();
  const h2Runs = [];
  for (let i = 0; i < (PARTS.has('h2') ? RUNS : 0); i++) {
    const r = await h2(tls);
    h2Runs.push(r);
    process.stderr.write(`h2: in flight ${r.inFlightAtSignal}, lost ${r.lostAtSignal}, resets ${r.resets}, exit ${r.exit.ms.toFixed(0)} ms (${exitText(r.exit)}), bound ${r.bound.toFixed(0)}, slowest ${r.slowestInFlightMs.toFixed(0)}, cpu ${r.cpuAfter}\n`);
  }

  return `Command: \`npm run bench -- scale\` (${RUNS} runs per row, the three servers interleaved). Per run: one fresh server;
N idle clients open their keep-alive connections (raw sockets, \`test/src/http-raw-clients.ts\`) and send \`GET /slow?ms=1\`
every ${THINK_MS[0] / 1000}–${THINK_MS[1] / 1000} s each (at 10,000: every ${thinkFor(10_000)[0] / 1000}–${thinkFor(10_000)[1] / 1000} s, ~1,000 requests/s in all, which the load
generator and the server sharing 2 cores can sustain; the first request of each within ${THINK_MS[1] / 1000} s); the heap (after GC) is read before and after they open; then ${BUSY} busy clients loop
\`GET /slow?ms=${REQUEST_MS}\` back to back (a 300 ms handler; on Nest it then uses a pool closed in \`onModuleDestroy\`); SIGTERM 1 s
later. A client whose connection the server closes does not reconnect (it would go to another instance). "Lost" = requests
sent before SIGTERM and not answered with a 200; "non-200 answers" = every 5xx/503 of the run (Nest's 503 option answers
one to each request that arrives during its shutdown, and a 500 to those that find the pool closed); "resets" = requests whose connection closed or reset
under them (every one of them reached a socket the server was closing: the client cannot tell whether it was processed);
"slowest in flight" = SIGTERM to the answer of the last request in flight then, the earliest a lossless exit can come;
CPU from \`/proc\` (5 ms resolution). Servers: nestjs-quit with its defaults; bare Nest with \`return503OnClosing: true\`;
the floor is a bare Node server (\`bench/apps/http-floor.app.ts\`) that at SIGTERM closes every idle socket at once
(\`server.close()\`) and each busy one after its response. "Heap per idle connection" = heap growth (after GC) per idle
connection opened; nestjs-quit's own cost per connection is its difference from Nest's, on the same adapter.
"Exit − last answer" is measured twice: as the load generator sees it (the process that also watches the server's exit;
with thousands of connections closing under it, it notices both the answers and the exit late, by how much depends on
when the server's closes came), and on the server's own clock (\`bench/apps/exit-stamps.ts\`: its last 200 answer
written and the moment it ends itself), which is the server's part alone.

${tables.join('\n\n')}

Idle only: ${IDLE_ONLY.toLocaleString('en')} keep-alive connections that each made one request and then idled for 1 s, nothing in flight;
SIGTERM → exit, ${RUNS} runs each, interleaved:

| platform | bare Nest (\`enableShutdownHooks()\`) | with nestjs-quit | difference of medians |
| --- | --- | --- | --- |
${idleRows.join('\n')}

Throughput on \`GET /ping\` (autocannon, ${TP_ROUNDS} interleaved rounds of ${TP_SECONDS} s; the server's CPU per request is the steadier
figure on a shared machine):

| platform | connections | bare Nest req/s | with nestjs-quit req/s | ratio | CPU per request, bare / quit |
| --- | --- | --- | --- | --- | --- |
${tpRows.join('\n')}

HTTP/2 over TLS (Fastify), ${H2_SESSIONS} sessions × ${H2_STREAMS} streams looping \`GET /slow?ms=${REQUEST_MS}\`, SIGTERM after 2 s, nestjs-quit:

| run | in flight | lost | resets | SIGTERM → exit | slowest in flight | server CPU after SIGTERM | exit |
| --- | --- | --- | --- | --- | --- | --- | --- |
${h2Runs.map((r, i) => `| ${i + 1} | ${r.inFlightAtSignal} | ${r.lostAtSignal} | ${r.resets} | ${fmt(r.exit.ms)} | ${fmt(r.slowestInFlightMs)} | ${fmt(r.cpuAfter)} | ${exitText(r.exit)} |`).join('\n')}`;
}

// Long-lived connections at SIGTERM: dozens of open WebSockets (a ws gateway), Socket.IO
// clients and SSE streams, each socket kept busy with a 300 ms handler that then uses a
// pool closed in onModuleDestroy; Nest alone vs nestjs-quit, same app, same load.
import http from 'node:http';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { built, fmt, median, signalAndTime, startApp } from './lib.mjs';

export const title = 'Long-lived connections: WebSocket and Socket.IO gateways, SSE at SIGTERM (Express)';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLIENTS = 48;
const HANDLER_MS = 300;
const WARMUP_MS = 1_000;
const KILL_AFTER_MS = 15_000;
const KINDS = [
  ['ws', '`ws` gateway (`@nestjs/platform-ws`, HTTP server port)'],
  ['io', 'Socket.IO gateway (Nest default adapter, HTTP server port)'],
  ['sse', '`@Sse()` endless stream'],
];
const VARIANTS = [
  ['nest', '`enableShutdownHooks()` only'],
  ['quit', 'nestjs-quit'],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const file = built('bench/apps/gateway-longlived.app.js');
const { wsClient, socketIoClient } = await import(pathToFileURL(built('test/src/gateway-clients.js')).href);
const exitText = (exit) => (exit.killed ? `**hung**, killed at ${KILL_AFTER_MS / 1000} s` : exit.signal ?? `code ${exit.code}`);

/** An SSE reader: 'end' when the stream ended cleanly after a whole event, else what went wrong. */
function sseClient(port) {
  let body = '';
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/sse', agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body.endsWith('\n\n') ? 'end' : 'cut mid-event'));
      res.on('error', (e) => resolve(`error ${e.code ?? e.message}`));
      res.on('aborted', () => resolve('aborted'));
    });
    req.on('error', (e) => resolve(`error ${e.code ?? e.message}`));
  });
}

async function once(kind, variant) {
  const app = startApp(file, { KIND: kind, VARIANT: variant, HANDLER_MS: String(HANDLER_MS) });
  const port = await app.ready;
  if (kind === 'sse') {
    const streams = Array.from({ length: CLIENTS }, () => sseClient(port));
    await sleep(WARMUP_MS);
    const exit = await signalAndTime(app, 'SIGTERM', KILL_AFTER_MS);
    const ends = await Promise.all(streams);
    const bad = ends.filter((e) => e !== 'end');
    return { exit, lost: bad.length, closes: tally(ends) };
  }
  const make = kind === 'ws' ? wsClient : socketIoClient;
  const clients = Array.from({ length: CLIENTS }, (_, i) => make(port, `c${i}`));
  await Promise.all(clients.map((c) => c.replies(1)));
  await sleep(WARMUP_MS);
  const exit = await signalAndTime(app, 'SIGTERM', KILL_AFTER_MS);
  // Socket.IO clients of the bare app may try to reconnect for ever: they are given 3 s to see their close.
  const ends = await Promise.race([Promise.all(clients.map((c) => c.ended)), sleep(3_000).then(() => undefined)]);
  clients.forEach((c) => c.close());
  const replied = new Set(clients.flatMap((c) => c.replied));
  const started = [...app.output().matchAll(/^ev:start (\S+)$/gm)].map((m) => m[1]);
  return { exit, lost: started.filter((id) => !replied.has(id)).length, closes: tally((ends ?? []).map((e) => e.close)) };
}

function tally(xs) {
  const counts = new Map();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(', ') || 'none seen';
}

export async function run() {
  const rows = [];
  for (const [kind, kindText] of KINDS) {
    for (const [variant, variantText] of VARIANTS) {
      const results = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await once(kind, variant);
        process.stderr.write(`  ${kind} ${variant}: ${r.exit.ms.toFixed(0)} ms, ${exitText(r.exit)}, lost ${r.lost}, ${r.closes}\n`);
        results.push(r);
      }
      const lost = results.map((r) => r.lost);
      rows.push(
        `| ${kindText} | ${variantText} | ${lost.join(' / ')} | ${fmt(median(results.map((r) => r.exit.ms)))} (max ${fmt(Math.max(...results.map((r) => r.exit.ms)))}) | ${[...new Set(results.map((r) => exitText(r.exit)))].join(', ')} | ${results[0].closes} |`,
      );
    }
  }
  const target = 1.1 * HANDLER_MS + 100;
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  return `Command: \`npm run bench -- longlived\` (machine: ${machine}). One Express app per row, ${CLIENTS} clients: each WebSocket /
Socket.IO client sends a \`work\` message, waits for its reply (an ack for Socket.IO) and sends
the next; the handler takes ${HANDLER_MS} ms and then uses a pool closed in \`onModuleDestroy\`. SIGTERM
after ${WARMUP_MS / 1000} s of load, so every client has about one handler in flight. SSE: ${CLIENTS} endless
\`@Sse()\` streams (an event every 50 ms). ${RUNS} runs per row.

- **lost**: handlers that started and whose reply never reached the client (per run); for SSE,
  streams that did not end cleanly on an event boundary.
- **SIGTERM → exit**: median (max). Target for nestjs-quit: ≤ 1.1 × the slowest handler in
  flight + 100 ms = ${target.toFixed(0)} ms.
- **what the clients saw**: close codes (WebSocket), disconnect reasons (Socket.IO), how
  the streams ended (SSE), in the first run.

| kind | shutdown | lost (of ~${CLIENTS} in flight) | SIGTERM → exit | exit | what the clients saw |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

With nestjs-quit an SSE stream ends on a whole event as soon as the drain starts (nothing is in
flight on a push stream), so its exit does not wait for a handler; Nest alone never ends it.
`;
}

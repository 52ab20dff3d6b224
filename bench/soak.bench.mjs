// Soak: many cycles of start → keep-alive load → SIGTERM mid-load. Every request that
// reached the app must get its 200, every process must exit on its own, and the load
// driver's memory must stay flat (no leak in what a cycle leaves behind).
import http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { built, fmt, median, percentile, root, startApp } from './lib.mjs';

export const title = 'Soak: start → load → SIGTERM, repeated';
const CYCLES = Number(process.env.SOAK_CYCLES ?? 100);
const CONNECTIONS = 16;
const REQUEST_MS = 50;

/** Keep-alive clients looping GET /work until the server is gone; counts every outcome. */
function load(port, counts) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let stopped = false;
  const one = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/work?ms=${REQUEST_MS}`, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          counts[res.statusCode === 200 ? 'ok' : 'bad']++;
          resolve(res.headers.connection === 'close');
        });
      });
      req.on('error', (err) => {
        // Refused = the listener is closed: the request never reached the app, nothing lost.
        if (err.code === 'ECONNREFUSED') counts.refused++;
        else counts.errors++;
        resolve(true);
      });
    });
  const loops = Array.from({ length: CONNECTIONS }, async () => {
    while (!stopped) {
      const closing = await one();
      if (closing && counts.signalled) return; // the server said goodbye on this connection
    }
  });
  return {
    done: Promise.all(loops).then(() => agent.destroy()),
    stop: () => (stopped = true),
  };
}

export async function run() {
  const file = built('bench/apps/soak.app.js');
  const totals = { ok: 0, bad: 0, errors: 0, refused: 0 };
  const exits = new Map();
  const times = [];
  const rss = [];
  let hung = 0;
  for (let i = 0; i < CYCLES; i++) {
    const app = startApp(file);
    const port = await app.ready;
    const counts = { ok: 0, bad: 0, errors: 0, refused: 0, signalled: false };
    const l = load(port, counts);
    await new Promise((r) => setTimeout(r, 150 + (i % 5) * 20)); // signal at varying points of a request
    counts.signalled = true;
    const t0 = performance.now();
    app.proc.kill('SIGTERM');
    const killer = setTimeout(() => {
      hung++;
      app.proc.kill('SIGKILL');
    }, 10_000);
    const exit = await app.exited;
    clearTimeout(killer);
    times.push(exit.at - t0);
    l.stop();
    await l.done;
    for (const k of Object.keys(totals)) totals[k] += counts[k];
    const key = exit.code ?? exit.signal;
    exits.set(key, (exits.get(key) ?? 0) + 1);
    if (i % 10 === 0 || i === CYCLES - 1) {
      globalThis.gc?.();
      rss.push(process.memoryUsage().rss / 2 ** 20);
    }
  }
  const exitText = [...exits].map(([k, n]) => `${k} ×${n}`).join(', ');
  const section = `Command: \`npm run bench -- soak\` (${CYCLES} cycles; \`SOAK_CYCLES\` to change). Each cycle starts
bench/apps/soak.app (QuitModule, a pool closed in \`onModuleDestroy\`), runs ${CONNECTIONS} keep-alive
clients looping a ${REQUEST_MS} ms request, sends SIGTERM 150–230 ms in, and waits for the exit.

| cycles | requests answered 200 | non-200 answers | socket errors | refused (never reached the app) | exits | hung (killed after 10 s) |
| --- | --- | --- | --- | --- | --- | --- |
| ${CYCLES} | ${totals.ok} | ${totals.bad} | ${totals.errors} | ${totals.refused} | ${exitText} | ${hung} |

SIGTERM → exit: median ${fmt(median(times))}, p90 ${fmt(percentile(times, 90))}, max ${fmt(Math.max(...times))}.
Load driver RSS, sampled every 10 cycles (MiB): ${rss.map((m) => m.toFixed(0)).join(', ')}.`;
  // docs/RELIABILITY.md carries the soak's latest result too, between its markers.
  const doc = path.join(root, 'docs', 'RELIABILITY.md');
  const text = await readFile(doc, 'utf8');
  const stamped = `${section}\n\n_Last run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC._`;
  await writeFile(doc, text.replace(/(<!-- soak:start -->\n)[\s\S]*(\n<!-- soak:end -->)/, `$1${stamped}$2`));
  return section;
}

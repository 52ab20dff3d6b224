// Helpers shared by the benchmarks: start a compiled app, wait for `ready <port>`,
// signal it and time its exit.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const built = (rel) => path.join(root, 'build', rel);

/** Starts `node file` and resolves once it printed `ready <port>`. */
export function startApp(file, env = {}, { readyTimeoutMs = 20_000 } = {}) {
  const proc = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} not ready: ${out}${err}`)), readyTimeoutMs);
    proc.stdout.setEncoding('utf8').on('data', (c) => {
      out += c;
      const m = /^ready (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (c) => (err += c));
    exited.then(() => reject(new Error(`${file} exited before ready: ${out}${err}`)));
  });
  return { proc, ready, exited, output: () => out + err };
}

/** Sends `signal` and resolves with the milliseconds to the exit, and how it exited. Kills it after `killAfterMs`. */
export async function signalAndTime(app, signal = 'SIGTERM', killAfterMs = 30_000) {
  const t0 = performance.now();
  app.proc.kill(signal);
  const killer = setTimeout(() => app.proc.kill('SIGKILL'), killAfterMs);
  const exit = await app.exited;
  clearTimeout(killer);
  return { ms: exit.at - t0, code: exit.code, signal: exit.signal, killed: exit.signal === 'SIGKILL' };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
export const fmt = (ms) => `${ms.toFixed(1)} ms`;

const CLOCK_TICKS = 100; // USER_HZ of /proc/<pid>/stat on Linux

/** Server CPU time (user + system) of a process, in ms, from /proc (Linux); undefined elsewhere. */
export function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * `GET /ping` on `file` (VARIANT=nest and quit, side by side) with autocannon: the two
 * take turns in short rounds, so that the load of the machine (other processes) falls on
 * both alike. Also the server's CPU time per request (µs), which contention disturbs less
 * than the rate, and the errors, timeouts and non-2xx answers.
 */
export async function throughput(file, platform, { connections, rounds, seconds }) {
  const apps = {};
  for (const variant of ['nest', 'quit']) {
    const app = startApp(file, { PLATFORM: platform, VARIANT: variant });
    apps[variant] = { app, url: `http://127.0.0.1:${await app.ready}/ping` };
    await autocannon({ url: apps[variant].url, connections, duration: 1 }); // warm-up (JIT)
  }
  const rates = { nest: [], quit: [] };
  const cpuPerRequest = { nest: [], quit: [] };
  const bad = { nest: 0, quit: 0 };
  for (let i = 0; i < rounds; i++) {
    for (const variant of i % 2 ? ['quit', 'nest'] : ['nest', 'quit']) {
      const { app, url } = apps[variant];
      const before = cpuMs(app.proc.pid);
      const r = await autocannon({ url, connections, duration: seconds });
      const after = cpuMs(app.proc.pid);
      rates[variant].push(r.requests.total / seconds);
      if (before !== undefined && after !== undefined) cpuPerRequest[variant].push(((after - before) * 1000) / r.requests.total);
      bad[variant] += r.errors + r.timeouts + r.non2xx;
    }
  }
  for (const { app } of Object.values(apps)) {
    app.proc.kill('SIGKILL');
    await app.exited;
  }
  return { rates, cpuPerRequest, bad };
}

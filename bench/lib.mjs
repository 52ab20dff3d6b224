// Helpers shared by the benchmarks: start a compiled app, wait for `ready <port>`,
// signal it and time its exit.
import { spawn } from 'node:child_process';
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

/**
 * For the scale benchmark: the server's own clock for its last 200 answer and for its
 * exit. The load generator shares the process that watches the exit, and with
 * thousands of sockets closing under it, it sees both late, by an amount that depends on
 * how the server spread its closes — not a property of the server. Both are printed, as
 * `stamps lastOk=<ms> exit=<ms>` (epoch ms, `performance.timeOrigin` based, comparable
 * across processes on one machine), synchronously, at the moment the process hands
 * itself to the kernel to end: `process.exit()`, or `process.kill()` of itself (how Nest
 * re-raises a signal).
 */
import { writeSync } from 'node:fs';
import type { Server } from 'node:http';

const now = () => performance.timeOrigin + performance.now();

export function stampExit(server: Server): void {
  let lastOk = 0;
  server.on('request', (_req, res) => res.once('finish', () => res.statusCode === 200 && (lastOk = now())));
  let stamped = false;
  const stamp = () => {
    if (stamped) return;
    stamped = true;
    writeSync(1, `stamps lastOk=${lastOk.toFixed(2)} exit=${now().toFixed(2)}\n`);
  };
  const kill = process.kill.bind(process);
  process.kill = ((pid: number, signal?: string | number) => {
    if (pid === process.pid) stamp();
    return kill(pid, signal);
  }) as typeof process.kill;
  const exit = process.exit.bind(process);
  process.exit = ((code?: number) => {
    stamp();
    return exit(code);
  }) as typeof process.exit;
}

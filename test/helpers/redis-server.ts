import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';

export { freePort };

/** A throwaway `redis-server` on a free loopback port: no persistence, gone when stopped. */
export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  stop(): Promise<void>;
}

/** The `redis-server` on the PATH, or undefined. */
export function findRedisServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, 'redis-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Starts `redis-server` on a free loopback port and resolves once it accepts
 * connections. The port is free when picked but could be taken before Redis binds
 * it, so a failed start is retried on another port (three attempts).
 */
export async function startRedisServer(binary = findRedisServer()): Promise<RedisServer> {
  if (!binary) throw new Error('redis-server is not on the PATH (Debian: apt-get install redis-server)');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(binary, port);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function launch(binary: string, port: number): Promise<RedisServer> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
  const proc: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let output = '';
    let started = false;
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within 5 s:\n${output}`)), 5_000);
    const fail = (error: Error) => {
      if (started) return;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(error);
    };
    proc.once('exit', (code) => fail(new Error(`redis-server exited with ${code}:\n${output}`)));
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (started) return;
      output += chunk;
      if (!output.includes('Ready to accept connections')) return;
      started = true;
      clearTimeout(timer);
      resolve({
        host: '127.0.0.1',
        port,
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await exited;
        },
      });
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  });
}

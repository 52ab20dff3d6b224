import { afterEach } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The compiled fixture (`npm test` builds `test/src` into `build/test/src` first). */
export function fixture(name: string): string {
  return path.join(root, 'build', 'test', 'src', `${name}.js`);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from `signalledAt` (or the start) to the exit. */
  elapsedMs: number;
}

/** A fixture app in a child process, with its stdout read line by line. */
export class Child {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly proc: ChildProcess;
  private waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  private signalledAt = Date.now();

  constructor(file: string, env: Record<string, string> = {}) {
    this.proc = spawn(process.execPath, [file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => resolve({ code, signal, elapsedMs: Date.now() - this.signalledAt }));
    });
  }

  /** Resolves with the first line (already seen or to come) that matches. Fails if the process exits first. */
  waitFor(pattern: RegExp | string, timeoutMs = 15_000): Promise<string> {
    const test = (line: string) => (typeof pattern === 'string' ? line === pattern : pattern.test(line));
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line ${pattern} within ${timeoutMs} ms; got:\n${this.output()}`)), timeoutMs);
      this.exited.then(() => {
        clearTimeout(timer);
        const late = this.lines.find(test);
        if (late !== undefined) resolve(late);
        else reject(new Error(`exited before ${pattern}; got:\n${this.output()}`));
      });
      this.waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** The port from the fixture's `ready <port>` line. */
  async ready(): Promise<number> {
    const line = await this.waitFor(/^ready \d+$/);
    return Number(line.split(' ')[1]);
  }

  /** The report of the fixture's `ev:report {…}` line (`printQuitEvents`): whether it was ok, and what was pending. */
  async report(): Promise<{ ok: boolean; pending: string[] }> {
    return JSON.parse((await this.waitFor(/^ev:report /)).slice('ev:report '.length)) as { ok: boolean; pending: string[] };
  }

  kill(signal: NodeJS.Signals): void {
    this.signalledAt = Date.now();
    this.proc.kill(signal);
  }

  /** The fixture's event lines (`ev:<name>`), in order, without the prefix. */
  events(): string[] {
    return this.lines.filter((l) => l.startsWith('ev:')).map((l) => l.slice(3));
  }

  output(): string {
    return [...this.lines, ...this.stderr].join('\n');
  }

  /** Kills it if still running (test clean-up). */
  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

/**
 * A starter for fixture apps of this test file: each child still running when its test
 * ends is killed, so that a failed test leaves no process behind.
 */
export function childStarter(): (name: string, env?: Record<string, string>) => Child {
  const running: Child[] = [];
  afterEach(() => running.splice(0).forEach((c) => c.stop()));
  return (name, env = {}) => {
    const child = new Child(fixture(name), env);
    running.push(child);
    return child;
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import type { QuitEvent } from '../interfaces/quit-event.interface.js';
import type { QuitReport } from '../interfaces/quit-report.interface.js';
import { QUIT_TESTING_ENV, QUIT_TESTING_MARK } from './wire.js';

/** How a child process ended. */
export interface ChildExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it (e.g. `SIGTERM` when Nest re-raised it after a clean shutdown), or null. */
  signal: NodeJS.Signals | null;
  /** True when the kit had to kill it (it did not exit by itself in time). */
  killed: boolean;
}

/** The app in a child process: its output read line by line, its shutdown events parsed. */
export class ChildApp {
  readonly events: QuitEvent[] = [];
  /** The last report the app sent: `quit.ended`'s, or `quit.forced`'s when the exit was forced. */
  report?: QuitReport;
  readonly output: string[] = [];
  readonly exited: Promise<ChildExit>;
  private readonly proc: ChildProcess;
  private killedByKit = false;
  private readonly killOnExit = () => this.kill();

  constructor(file: string, args: string[], nodeArgs: string[], env: Record<string, string>, cwd?: string) {
    this.proc = spawn(process.execPath, [...nodeArgs, file, ...args], {
      cwd,
      env: { ...process.env, ...env, [QUIT_TESTING_ENV]: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The test runner going away must not leave the app behind.
    process.once('exit', this.killOnExit);
    this.read(this.proc.stdout!, true);
    this.read(this.proc.stderr!, false);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        process.removeListener('exit', this.killOnExit);
        resolve({ code, signal, killed: this.killedByKit });
      });
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.proc.kill(signal);
  }

  /** SIGKILL if still running. */
  kill(): void {
    if (!this.running) return;
    this.killedByKit = true;
    this.proc.kill('SIGKILL');
  }

  private read(stream: NodeJS.ReadableStream, stdout: boolean): void {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (stdout && line.startsWith(QUIT_TESTING_MARK + ' ')) this.onEvent(line.slice(QUIT_TESTING_MARK.length + 1));
        else if (this.output.length < 2_000) this.output.push(line);
      }
    });
  }

  private onEvent(json: string): void {
    try {
      const event = JSON.parse(json) as QuitEvent;
      this.events.push(event);
      // A forced exit (deadline, second signal, process.exit()) comes after any quit.ended
      // and carries the report the process ended on: the one a failing test needs.
      if (event.type === 'quit.ended' || event.type === 'quit.forced') this.report = event.report;
    } catch {
      this.output.push(`${QUIT_TESTING_MARK} (unreadable) ${json}`);
    }
  }
}

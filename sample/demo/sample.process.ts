import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A quit event as the sample prints it (SAMPLE_JSON=1): see `QuitService.events$`. */
export interface PrintedEvent {
  type: string;
  at: number;
  phase?: string;
  durationMs?: number;
  timedOut?: boolean;
  pending?: string[];
  name?: string;
  report?: { ok: boolean; pending: string[]; failures: string[]; durationMs: number };
}

export interface SampleExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the process was seen to exit (this clock; same machine as the sample's). */
  at: number;
  /** The sample's counters, printed as it exited. */
  counts: Record<string, number>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** The compiled sample (`build/sample/src/main.js`), run with SAMPLE_JSON=1 and read line by line. */
export class SampleProcess {
  readonly events: PrintedEvent[] = [];
  /** Moments the sample marks for the timeline ("database pool closed"). */
  readonly marks: Array<{ name: string; at: number }> = [];
  readonly ready: Promise<{ http: number; grpc: number; queue: string }>;
  readonly exited: Promise<SampleExit>;
  readonly stderr: string[] = [];
  private readonly proc: ChildProcess;
  private counts: Record<string, number> = {};

  constructor(env: Record<string, string>) {
    this.proc = spawn(process.execPath, [path.join(here, '..', 'src', 'main.js')], {
      env: { ...process.env, ...env, SAMPLE_JSON: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let onReady!: (r: { http: number; grpc: number; queue: string }) => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((onReady = resolve), (onFail = reject)));
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith('{')) continue;
        const msg = JSON.parse(line) as { ready?: never; event?: PrintedEvent; mark?: { name: string; at: number }; counts?: Record<string, number> };
        if (msg.mark) this.marks.push(msg.mark);
        if (msg.ready) onReady(msg.ready);
        if (msg.event) this.events.push(msg.event);
        if (msg.counts) this.counts = msg.counts;
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        onFail(new Error(`the sample exited before it was ready:\n${this.stderr.join('')}`));
        resolve({ code, signal, at: Date.now(), counts: this.counts });
      });
    });
  }

  /** The phase running now, from the events so far. */
  get phase(): string | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (e.type === 'quit.ended') return 'Nest close';
      if (e.type === 'phase.started') return e.phase;
    }
    return undefined;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

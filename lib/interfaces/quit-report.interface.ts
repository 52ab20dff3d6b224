import type { QuitPhase } from './quit-event.interface.js';

/**
 * What started a shutdown: a process signal, `app.close()`, `quit()`, or an uncaught
 * exception / unhandled rejection (`quitOnUncaughtError`).
 */
export type QuitTrigger = 'signal' | 'close' | 'quit' | 'error';

/** One failure met during a shutdown. */
export interface QuitFailure {
  /** What failed: a hook (`Class@method` or its name), a transport, a worker. */
  source: string;
  /** The phase it happened in. */
  phase: QuitPhase;
  message: string;
  error?: unknown;
}

export interface QuitPhaseReport {
  phase: QuitPhase;
  /** Milliseconds from the start of the shutdown to the start of this phase. */
  startedAtMs: number;
  durationMs: number;
  /** The phase's timeout, or the deadline, cut it short. */
  timedOut: boolean;
  /** What was still in flight when the phase was cut short (empty otherwise). */
  pending: string[];
}

/** The account of one shutdown, from its start to the end of the quit pipeline. */
export interface QuitReport {
  trigger: QuitTrigger;
  /** The signal, when a signal started it. */
  signal?: string;
  /** The reason given to `quit(reason)`, or the message of the error that started it. */
  reason?: string;
  /** Epoch milliseconds of the start. */
  startedAt: number;
  /** Milliseconds the quit pipeline took. */
  durationMs: number;
  phases: QuitPhaseReport[];
  /** Everything still pending when a phase was cut short, across phases. */
  pending: string[];
  failures: QuitFailure[];
  /** Worker runs refused because quitting had begun. */
  skippedWorkerRuns: number;
  /** Set when the process was made to exit before the shutdown finished. */
  forced?: 'deadline' | 'second-signal';
  /**
   * Set when code called `process.exit(code)` before the shutdown finished: what it
   * skipped is in `pending`, and a 0 code was turned into `failureExitCode`.
   */
  processExitCode?: number;
  /** No timeout, no failure, not forced, no `process.exit()` meanwhile. */
  ok: boolean;
}

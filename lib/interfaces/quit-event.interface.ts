import type { QuitReport, QuitTrigger } from './quit-report.interface.js';

export type QuitPhase = 'fire' | 'readiness' | 'transports' | 'workers' | 'hooks';

/** The events `QuitService.events$` emits during a shutdown, in order. */
export type QuitEvent =
  | { type: 'quit.started'; trigger: QuitTrigger; signal?: string; reason?: string; at: number }
  | { type: 'phase.started'; phase: QuitPhase; at: number }
  | { type: 'phase.ended'; phase: QuitPhase; at: number; durationMs: number; timedOut: boolean; pending: string[] }
  | { type: 'transport.intake-stopped'; transport: string; name: string; at: number }
  | { type: 'transport.drained'; transport: string; name: string; at: number; forced: boolean }
  | { type: 'hook.started'; name: string; at: number }
  | { type: 'hook.ended'; name: string; at: number; durationMs: number; error?: unknown; timedOut: boolean }
  | { type: 'worker.skipped'; name: string; at: number }
  /** The overall deadline (`timeoutMs`) cut a phase short: the shutdown is out of time. */
  | { type: 'quit.deadline'; at: number; phase: QuitPhase }
  | { type: 'quit.ended'; at: number; report: QuitReport }
  /** The process is about to end before the shutdown finished (`report.forced` or `report.processExitCode` says why): the last event. */
  | { type: 'quit.forced'; at: number; report: QuitReport };

import type { QuitReport } from '../interfaces/quit-report.interface.js';
import type { ResolvedQuitOptions } from '../quit.options.js';

/** How a process the shutdown owns ends: with an exit code, or by the signal Nest re-raises. */
export type ExitDecision = { code: number } | { reraise: NodeJS.Signals };

/**
 * The exit of an owned process, from the report alone: anything not clean (forced, a
 * timeout, a failure, an uncaught error, or no report at all) is `failureExitCode`; a
 * clean one is `exitCode` when set, else what Nest does after closing (re-raise the
 * signal that started it), else 0.
 */
export function decideExit(
  report: QuitReport | undefined,
  options: Pick<ResolvedQuitOptions, 'exitCode' | 'failureExitCode'>,
  endSignal?: NodeJS.Signals,
): ExitDecision {
  if (!report || report.forced || report.processExitCode !== undefined || !report.ok) return { code: options.failureExitCode };
  if (options.exitCode !== undefined) return { code: options.exitCode };
  if (endSignal) return { reraise: endSignal };
  return { code: 0 };
}

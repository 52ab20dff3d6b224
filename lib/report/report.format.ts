import type { QuitFailure, QuitPhaseReport, QuitReport } from '../interfaces/quit-report.interface.js';
import { errorMessage } from '../errors/error-message.js';

/** The report with plain values only: errors reduced to their messages, for JSON. */
export type PlainQuitReport = Omit<QuitReport, 'failures'> & {
  failures: Array<Omit<QuitFailure, 'error'> & { error?: string }>;
};

export function plainReport(report: QuitReport): PlainQuitReport {
  return {
    ...report,
    phases: report.phases.map((p) => ({ ...p, pending: [...p.pending] })),
    pending: [...report.pending],
    failures: report.failures.map(({ error, ...rest }) => (error === undefined ? rest : { ...rest, error: errorMessage(error) })),
  };
}

/** `signal SIGTERM`, `app.close()`, `quit(): reason`. */
function cause(report: QuitReport): string {
  if (report.trigger === 'signal') return `signal ${report.signal ?? '?'}`;
  if (report.trigger === 'close') return 'app.close()';
  if (report.trigger === 'error') return report.reason ? `uncaught error: ${report.reason}` : 'uncaught error';
  return report.reason ? `quit(): ${report.reason}` : 'quit()';
}

const ms = (value: number) => `${value} ms`;

/** The first line of both forms: how it ended, how long it took, what started it. */
function headline(report: QuitReport): string {
  const forced = report.forced ? `, forced: ${report.forced}` : '';
  return report.ok
    ? `Shutdown done in ${ms(report.durationMs)} (${cause(report)})`
    : `Shutdown failed after ${ms(report.durationMs)} (${cause(report)}${forced})`;
}

/** One line for a clean shutdown: `Shutdown done in 312 ms (signal SIGTERM): fire 0 ms, readiness 0 ms, …`. */
export function summaryLine(report: QuitReport): string {
  const phases = report.phases.map((p) => `${p.phase} ${ms(p.durationMs)}`).join(', ');
  const skipped = report.skippedWorkerRuns ? `; ${report.skippedWorkerRuns} worker run(s) skipped` : '';
  return `${headline(report)}: ${phases}${skipped}`;
}

/**
 * A short table for a failed shutdown: one row per phase (duration, outcome, what was
 * pending), then one row per failure (phase, source, message).
 */
export function reportTable(report: QuitReport): string {
  const rows: string[][] = [['phase', 'duration', 'outcome', 'pending']];
  for (const p of report.phases) {
    const [first = '', ...more] = p.pending;
    rows.push([p.phase, ms(p.durationMs), outcome(p, report), first]);
    for (const item of more) rows.push(['', '', '', item]);
  }
  // Pending outside the pipeline's phases (Nest's own hooks after it, at a forced exit).
  const inPhases = new Set(report.phases.flatMap((p) => p.pending.map((item) => `${p.phase}: ${item}`)));
  for (const item of report.pending.filter((i) => !inPhases.has(i))) {
    const at = item.indexOf(': ');
    rows.push(at > 0 ? [item.slice(0, at), '', report.forced ? `cut (${report.forced})` : '', item.slice(at + 2)] : ['', '', '', item]);
  }
  const lines = [headline(report), ...columns(rows)];
  if (report.failures.length) {
    lines.push('  failures');
    const failures = report.failures.map((f) => [f.phase, f.source, f.message]);
    lines.push(...columns([['phase', 'source', 'error'], ...failures]));
  }
  if (report.skippedWorkerRuns) lines.push(`  ${report.skippedWorkerRuns} worker run(s) skipped (quitting had begun)`);
  return lines.join('\n');
}

function outcome(p: QuitPhaseReport, report: QuitReport): string {
  if (!p.timedOut) return report.failures.some((f) => f.phase === p.phase) ? 'failed' : 'ok';
  return report.forced && p === report.phases[report.phases.length - 1] ? `cut (${report.forced})` : 'timed out';
}

/** Left-aligned columns, the duration column right-aligned; no trailing blanks. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((cell, i) => (i === r.length - 1 ? cell : r === rows[0] || rows[0]![i] !== 'duration' ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}

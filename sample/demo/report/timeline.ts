import type { PrintedEvent, SampleExit } from '../sample.process.js';

const WIDTH = 44;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

export interface TimelineRow {
  label: string;
  startMs: number;
  /** Undefined for a moment (drawn as ◆) rather than a span. */
  durationMs?: number;
  note?: string;
}

/**
 * The shutdown phases as rows, from SIGTERM (time 0) to the exit: the quit pipeline's
 * own phases from its events, then Nest's shutdown (onModuleDestroy … onApplicationShutdown
 * and the exit) from the end of the pipeline to the moment the process was gone.
 */
export function timelineRows(events: PrintedEvent[], marks: Array<{ name: string; at: number }>, signalledAt: number, exit: SampleExit): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const started = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'phase.started' && e.phase) started.set(e.phase, e.at);
    if (e.type === 'phase.ended' && e.phase) {
      const note = e.timedOut ? `timed out; pending: ${(e.pending ?? []).join(', ')}` : undefined;
      rows.push({ label: e.phase, startMs: (started.get(e.phase) ?? e.at) - signalledAt, durationMs: e.durationMs ?? 0, note });
    }
  }
  const ended = events.find((e) => e.type === 'quit.ended');
  if (ended) rows.push({ label: 'Nest close', startMs: ended.at - signalledAt, durationMs: exit.at - ended.at, note: 'onModuleDestroy … exit' });
  for (const mark of [...marks].sort((a, b) => a.at - b.at)) rows.push({ label: mark.name, startMs: mark.at - signalledAt });
  return rows;
}

/** A terminal Gantt chart: one bar per row, positioned and sized on a common scale. */
export function drawTimeline(rows: TimelineRow[], totalMs: number): string {
  const scale = WIDTH / Math.max(totalMs, 1);
  const labelWidth = Math.max(...rows.map((r) => r.label.length), 10);
  const lines = rows.map((r) => {
    const offset = Math.min(WIDTH, Math.floor(Math.max(0, r.startMs) * scale));
    if (r.durationMs === undefined) {
      const at = Math.min(offset, WIDTH - 1);
      return `  ${r.label.padEnd(labelWidth)} │${' '.repeat(at)}◆${' '.repeat(WIDTH - at - 1)}│ at ${r.startMs.toFixed(0)} ms`;
    }
    const bar = barOf(r.durationMs * scale, WIDTH - offset);
    const cells = ' '.repeat(offset) + bar;
    const ms = `${r.durationMs.toFixed(1).padStart(8)} ms`;
    return `  ${r.label.padEnd(labelWidth)} │${cells.padEnd(WIDTH)}│${ms}${r.note ? `  ${r.note}` : ''}`;
  });
  const axis = `  ${' '.repeat(labelWidth)} 0${'─'.repeat(WIDTH - 1)}${Math.round(totalMs)} ms`;
  return [...lines, axis].join('\n');
}

/** `cells` character cells of bar, to an eighth of a cell; at least a sliver, so a 0.1 ms phase still shows. */
function barOf(cells: number, room: number): string {
  const c = Math.min(cells, room);
  const whole = Math.floor(c);
  const part = Math.round((c - whole) * 8);
  const bar = '█'.repeat(whole) + (part === 8 ? '█' : EIGHTHS[part]);
  return bar.length > 0 ? bar : '▏';
}

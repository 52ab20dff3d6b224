import { lost, type Outcome } from '../outcome.js';

const COLUMNS = ['Sent', 'Accepted', 'Completed', 'Refused', 'Waiting', 'Lost'] as const;

/** The outcome table: one row per kind of work, a dash where a column does not apply. */
export function drawTable(outcomes: Outcome[]): string {
  const labelWidth = Math.max(...outcomes.map((o) => o.label.length), 4);
  const cell = (v: number | undefined, w: number) => (v === undefined ? '–' : String(v)).padStart(w);
  const widths = COLUMNS.map((c) => Math.max(c.length, 6));
  const header = `  ${''.padEnd(labelWidth)}  ${COLUMNS.map((c, i) => c.padStart(widths[i])).join('  ')}`;
  const rule = `  ${'─'.repeat(header.length - 2)}`;
  const rows = outcomes.map((o) => {
    const values = [o.sent, o.accepted, o.completed, o.refused, o.waiting, lost(o)];
    return `  ${o.label.padEnd(labelWidth)}  ${values.map((v, i) => cell(v, widths[i])).join('  ')}`;
  });
  return [header, rule, ...rows].join('\n');
}

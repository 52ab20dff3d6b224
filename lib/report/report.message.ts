import { inspect } from 'node:util';
import type { QuitReport } from '../interfaces/quit-report.interface.js';
import { plainReport, reportTable, summaryLine, type PlainQuitReport } from './report.format.js';

/**
 * The report as one log message for any Nest `LoggerService`: its own enumerable fields
 * are the report (`summary` first), so a JSON logger (`ConsoleLogger({ json: true })`,
 * pino) writes fields, not a string; a text logger shows the summary line of a clean
 * shutdown, or the table of a failed one, through `util.inspect` (what `ConsoleLogger`
 * uses for an object that is not a plain one) and `toString()`.
 */
export class QuitReportMessage {
  readonly summary!: string;

  constructor(report: QuitReport) {
    const text = report.ok ? summaryLine(report) : reportTable(report);
    Object.assign(this, { summary: text.split('\n')[0] }, plainReport(report));
    // Not enumerable: neither JSON.stringify nor a JSON logger sees the text form.
    Object.defineProperty(this, 'text', { value: text, enumerable: false });
  }

  toString(): string {
    return (this as unknown as { text: string }).text;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export interface QuitReportMessage extends PlainQuitReport {}

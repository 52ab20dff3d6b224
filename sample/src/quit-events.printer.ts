import { Injectable, Logger } from '@nestjs/common';
import { QuitService, type QuitEvent } from '../../lib/index.js'; // in an app: from 'nestjs-quit'
import { config } from './config.js';

/**
 * Shows the shutdown as it happens, from `QuitService.events$`: a log line per phase,
 * or with SAMPLE_JSON=1 every event as a JSON line (what `npm run demo` draws).
 */
@Injectable()
export class QuitEventsPrinter {
  private readonly logger = new Logger('Shutdown');

  constructor(quit: QuitService) {
    quit.events$.subscribe((event) => (config.json ? printJson({ event: plain(event) }) : this.log(event)));
  }

  private log(event: QuitEvent): void {
    if (event.type === 'phase.ended') {
      this.logger.log(`${event.phase}: ${event.durationMs} ms${event.timedOut ? ` (timed out; pending: ${event.pending.join(', ')})` : ''}`);
    }
  }
}

/** With SAMPLE_JSON=1, a moment worth seeing on the demo's timeline (e.g. "database pool closed"). */
export function printMark(name: string): void {
  if (config.json) printJson({ mark: { name, at: Date.now() } });
}

/** One JSON line on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Errors do not survive JSON.stringify: keep their message. */
function plain(event: QuitEvent): unknown {
  if (event.type === 'hook.ended' && event.error) return { ...event, error: String((event.error as Error).message ?? event.error) };
  if (event.type === 'quit.ended') return { ...event, report: { ...event.report, failures: event.report.failures.map((f) => f.message) } };
  return event;
}

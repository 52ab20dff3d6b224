import { Injectable } from '@nestjs/common';
import type { QuitReport } from './interfaces/quit-report.interface.js';
import { QuitMessages } from './quit.messages.js';
import { QuitService } from './quit.service.js';
import { QUIT_TESTING_ENV, QUIT_TESTING_MARK } from './testing/wire.js';

/** Logs how a shutdown went: one line when it went well, the whole report when it did not. */
@Injectable()
export class QuitReporter {
  constructor(private readonly quit: QuitService) {
    quit.events$.subscribe((event) => {
      if (event.type === 'quit.started') {
        this.logger?.log(QuitMessages.started(event.trigger, event.signal ?? event.reason));
      } else if (event.type === 'quit.ended') {
        this.logger?.log(QuitMessages.finished(event.report.durationMs, event.report.ok));
        if (!event.report.ok) this.logReport(event.report);
      }
    });
    // nestjs-quit/testing runs the app with this variable set, and reads these lines back.
    if (process.env[QUIT_TESTING_ENV] === '1') {
      quit.events$.subscribe((event) => process.stdout.write(`${QUIT_TESTING_MARK} ${JSON.stringify(event, plainErrors)}\n`));
    }
  }

  /** The report as one JSON line, errors reduced to their messages. */
  logReport(report: QuitReport): void {
    const plain = { ...report, failures: report.failures.map(({ error: _error, ...rest }) => rest) };
    this.logger?.error(QuitMessages.report(JSON.stringify(plain)));
  }

  private get logger() {
    return this.quit.options.logger;
  }
}

/** JSON.stringify replacer: an error becomes its message (an Error has no own enumerable fields). */
function plainErrors(_key: string, value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}

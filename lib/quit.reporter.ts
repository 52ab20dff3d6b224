import { Inject, Injectable } from '@nestjs/common';
import type { QuitReport } from './interfaces/quit-report.interface.js';
import { isError } from './errors/error-message.js';
import { QuitMessages } from './quit.messages.js';
import type { QuitCoordinator } from './process/quit.coordinator.js';
import { QUIT_CORE } from './quit.constants.js';
import { QuitReportMessage } from './report/report.message.js';
import { QUIT_TESTING_ENV, QUIT_TESTING_MARK } from './testing/wire.js';

/**
 * Logs how a shutdown went: one summary line (each phase's duration) when it went well,
 * a short table when it did not; either way the report is one object, so JSON loggers
 * get its fields.
 */
@Injectable()
export class QuitReporter {
  constructor(@Inject(QUIT_CORE) private readonly quit: QuitCoordinator) {
    quit.events.subscribe((event) => {
      if (event.type === 'quit.started') {
        this.logger?.log(QuitMessages.started(event.trigger, event.signal ?? event.reason));
      } else if (event.type === 'quit.ended') {
        if (event.report.ok) this.logger?.log(new QuitReportMessage(event.report));
        else this.logReport(event.report);
      } else if (event.type === 'quit.forced') {
        this.logReport(event.report);
      }
    });
    // nestjs-quit/testing runs the app with this variable set, and reads these lines back.
    if (process.env[QUIT_TESTING_ENV] === '1') {
      quit.events.subscribe((event) => process.stdout.write(`${QUIT_TESTING_MARK} ${JSON.stringify(event, plainErrors)}\n`));
    }
  }

  /** A failed (or forced) shutdown's report: a table for text loggers, fields for JSON ones. */
  logReport(report: QuitReport): void {
    this.logger?.error(new QuitReportMessage(report));
  }

  private get logger() {
    return this.quit.options.logger;
  }
}

/** JSON.stringify replacer: an error becomes its message (an Error has no own enumerable fields). */
function plainErrors(_key: string, value: unknown): unknown {
  return isError(value) ? value.message : value;
}

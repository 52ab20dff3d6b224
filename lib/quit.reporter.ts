import { Injectable } from '@nestjs/common';
import type { QuitReport } from './interfaces/quit-report.interface.js';
import { QuitMessages } from './quit.messages.js';
import { QuitCoordinator } from './process/quit.coordinator.js';
import { QuitReportMessage } from './report/report.message.js';

/**
 * Logs how a shutdown went: one summary line (each phase's duration) when it went well,
 * a short table when it did not; either way the report is one object, so JSON loggers
 * get its fields.
 */
@Injectable()
export class QuitReporter {
  constructor(private readonly quit: QuitCoordinator) {
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
  }

  /** A failed (or forced) shutdown's report: a table for text loggers, fields for JSON ones. */
  logReport(report: QuitReport): void {
    this.logger?.error(new QuitReportMessage(report));
  }

  private get logger() {
    return this.quit.options.logger;
  }
}

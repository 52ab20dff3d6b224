import { Injectable } from '@nestjs/common';
import type { QuitReport } from './interfaces/quit-report.interface.js';
import { QuitMessages } from './quit.messages.js';
import { QuitCoordinator } from './process/quit.coordinator.js';

/** Logs how a shutdown went: one line when it went well, the whole report when it did not. */
@Injectable()
export class QuitReporter {
  constructor(private readonly quit: QuitCoordinator) {
    quit.events.subscribe((event) => {
      if (event.type === 'quit.started') {
        this.logger?.log(QuitMessages.started(event.trigger, event.signal ?? event.reason));
      } else if (event.type === 'quit.ended') {
        this.logger?.log(QuitMessages.finished(event.report.durationMs, event.report.ok));
        if (!event.report.ok) this.logReport(event.report);
      } else if (event.type === 'quit.forced') {
        this.logReport(event.report);
      }
    });
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

import { Injectable, Logger } from '@nestjs/common';
import { OnQuit } from '../../../lib/index.js'; // in an app: from 'nestjs-quit'

export type Counter = `${'http' | 'grpc' | 'cron' | 'jobs'}.${'accepted' | 'completed' | 'failed'}`;

/** Counts what the app accepted and completed; `npm run demo` compares it with what clients saw. */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger('Metrics');
  readonly counts: Partial<Record<Counter, number>> = {};

  inc(counter: Counter): void {
    this.counts[counter] = (this.counts[counter] ?? 0) + 1;
  }

  /** A quit hook: runs after the transports and workers are drained, before the pool closes. */
  @OnQuit({ order: 10, timeoutMs: 1_000 })
  flush(): void {
    this.logger.log(`flushed: ${JSON.stringify(this.counts)}`);
  }
}

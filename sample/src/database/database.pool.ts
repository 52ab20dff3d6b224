import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { printMark } from '../quit-events.printer.js';

/**
 * A stand-in for a database connection pool, closed where real apps close theirs: in
 * `onModuleDestroy`. A query on a closed pool fails — as every request, call, cron run
 * and job still using it would without the quit pipeline running first.
 */
@Injectable()
export class DatabasePool implements OnModuleDestroy {
  private readonly logger = new Logger('DatabasePool');
  private open = true;

  async query(ms: number): Promise<void> {
    if (!this.open) throw new Error('database pool is closed');
    await sleep(ms);
    if (!this.open) throw new Error('database pool closed during the query');
  }

  onModuleDestroy(): void {
    this.open = false;
    this.logger.log('database pool closed');
    printMark('database pool closed');
  }
}

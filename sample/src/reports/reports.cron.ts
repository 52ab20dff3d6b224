import { Injectable } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { TrackedWorker } from '../../../lib/index.js'; // in an app: from 'nestjs-quit'
import { DatabasePool } from '../database/database.pool.js';
import { MetricsService } from '../metrics/metrics.service.js';

@Injectable()
export class ReportsCron {
  constructor(
    private readonly db: DatabasePool,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Every second, a report that takes 300 ms of database time. When quitting begins the
   * scheduler stops, and a run in flight is waited for (`@TrackedWorker()`) before the
   * pool closes.
   */
  @Cron(CronExpression.EVERY_SECOND, { name: 'orders-report' })
  @TrackedWorker()
  async buildReport(): Promise<void> {
    this.metrics.inc('cron.accepted');
    try {
      await this.db.query(300);
      this.metrics.inc('cron.completed');
    } catch {
      this.metrics.inc('cron.failed');
    }
  }
}

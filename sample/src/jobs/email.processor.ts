import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { DatabasePool } from '../database/database.pool.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { printMark } from '../quit-events.printer.js';
import { EMAIL_QUEUE, type EmailJob } from './email.job.js';

/**
 * A BullMQ consumer, written as usual. Nothing about shutdown here (the `closed`
 * listener below only feeds the demo's timeline): the quit module
 * closes the worker when quitting begins (no new job is fetched, the active ones finish
 * and are acknowledged) and waits for it before the pool closes; jobs still waiting stay
 * in Redis for the next replica.
 */
@Processor(EMAIL_QUEUE, { concurrency: 4 })
export class EmailProcessor extends WorkerHost {
  constructor(
    private readonly db: DatabasePool,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  async process(job: Job<EmailJob>): Promise<string> {
    this.metrics.inc('jobs.accepted');
    try {
      await this.db.query(job.data.ms);
    } catch (error) {
      this.metrics.inc('jobs.failed');
      throw error;
    }
    this.metrics.inc('jobs.completed');
    return `sent to ${job.data.to}`;
  }

  /** For the demo's timeline: the moment BullMQ finished closing the worker. */
  @OnWorkerEvent('closed')
  onClosed(): void {
    printMark('BullMQ worker closed');
  }
}

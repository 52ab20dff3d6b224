import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { QuitService } from '../../../lib/index.js'; // in an app: from 'nestjs-quit'
import { DatabasePool } from '../database/database.pool.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { printMark } from '../quit-events.printer.js';
import type { EmailJob } from './email.job.js';

const CONSUMERS = 4;

/**
 * The in-process queue the sample uses when there is no Redis: jobs live only in this
 * process, so there is no other replica to leave them to. It stops accepting jobs when
 * quitting begins and works off its whole backlog in the workers phase.
 */
@Injectable()
export class MemoryQueue implements OnApplicationBootstrap {
  private readonly backlog: EmailJob[] = [];
  private wake: Array<() => void> = [];
  private quitting?: Promise<void>;

  constructor(
    private readonly quit: QuitService,
    private readonly db: DatabasePool,
    private readonly metrics: MetricsService,
  ) {}

  /** Accepts a job; false once quitting has begun (the caller answers 503). */
  push(job: EmailJob): boolean {
    if (this.quit.isQuitting) return false;
    this.metrics.inc('jobs.accepted');
    this.backlog.push(job);
    this.wake.shift()?.();
    return true;
  }

  onApplicationBootstrap(): void {
    const consumers = Promise.all(Array.from({ length: CONSUMERS }, () => this.consume()));
    // Between two jobs no run is in flight: counting the consumers as one run from the
    // moment quitting begins keeps the workers phase waiting until the backlog is empty.
    this.quit.signal.addEventListener('abort', () => void this.quit.track(consumers, 'memory-queue'));
    void consumers.then(() => printMark('in-process queue drained'));
  }

  private async consume(): Promise<void> {
    for (;;) {
      const job = this.backlog.shift();
      if (job) {
        await this.handle(job);
        continue;
      }
      if (this.quit.isQuitting) return;
      await this.nextJobOrQuit();
    }
  }

  private async handle(job: EmailJob): Promise<void> {
    try {
      await this.db.query(job.ms);
      this.metrics.inc('jobs.completed');
    } catch {
      this.metrics.inc('jobs.failed');
    }
  }

  private nextJobOrQuit(): Promise<void> {
    // One listener on the signal for all waits, not one per wait.
    this.quitting ??= new Promise((resolve) => this.quit.signal.addEventListener('abort', () => resolve(), { once: true }));
    return Promise.race([new Promise<void>((resolve) => this.wake.push(resolve)), this.quitting]);
  }
}

/**
 * A BullMQ consumer (`@nestjs/bullmq`, concurrency 3) whose jobs use a pool closed in
 * `onModuleDestroy`. `process()` carries a plain `@TrackedWorker()`: a job reaching it
 * after quitting began must still run, never be skipped (and so acknowledged unrun).
 *
 * env: REDIS_PORT, QUEUE (name); PROCESSOR=tracked (default) | plain (no @TrackedWorker: the module's
 * closing of the worker alone must do) | skip (`whenQuitting: 'skip'`, refused at startup);
 * HOLD=1 holds every job until quitting begins, then `ms` more, so
 * the jobs active at the signal are active by construction; HOLD=0 (a second replica)
 * just runs them; HOLD=forever never finishes one. QUIT_OPTIONS: JSON merged into the options.
 */
import 'reflect-metadata';
import { BullModule, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Module } from '@nestjs/common';
import type { Job } from 'bullmq';
import { QuitModule, QuitService, TrackedWorker } from '../../lib/index.js';
import { ev } from './log.js';
import { bootWorkerFixture, FlushHook, untilQuitting } from './worker-common.js';
import { Pool } from './pool.js';

const hold = process.env.HOLD === '1';
const stuck = process.env.HOLD === 'forever';
const queue = process.env.QUEUE ?? 'jobs';


// Decorated so that Nest sees its constructor parameters from the subclasses.
@Injectable()
abstract class JobsHost extends WorkerHost {
  constructor(
    private readonly pool: Pool,
    private readonly quit: QuitService,
  ) {
    super();
  }

  protected async run(job: Job<{ ms: number }>): Promise<string> {
    ev(`job.start ${job.id}`);
    if (hold) await untilQuitting(this.quit);
    if (stuck) await new Promise(() => undefined);
    await this.pool.query(job.data.ms);
    ev(`job.end ${job.id}`);
    return `done ${job.id}`;
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job, error: Error): void {
    ev(`job.failed ${job.id} ${error.message}`);
  }

  @OnWorkerEvent('closed')
  onClosed(): void {
    ev('worker.closed');
  }
}

@Processor(queue, { concurrency: 3 })
class TrackedProcessor extends JobsHost {
  @TrackedWorker()
  process(job: Job<{ ms: number }>): Promise<string> {
    return this.run(job);
  }
}

@Processor(queue, { concurrency: 3 })
class PlainProcessor extends JobsHost {
  process(job: Job<{ ms: number }>): Promise<string> {
    return this.run(job);
  }
}

@Processor(queue, { concurrency: 3 })
class SkippingProcessor extends JobsHost {
  @TrackedWorker({ whenQuitting: 'skip' })
  process(job: Job<{ ms: number }>): Promise<string> {
    return this.run(job);
  }
}

const processors = { tracked: TrackedProcessor, plain: PlainProcessor, skip: SkippingProcessor };

@Module({
  imports: [
    QuitModule.forRoot({ timeoutMs: 8_000, ...JSON.parse(process.env.QUIT_OPTIONS ?? '{}') }),
    BullModule.forRoot({ connection: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT) } }),
    BullModule.registerQueue({ name: queue }),
  ],
  providers: [Pool, processors[(process.env.PROCESSOR ?? 'tracked') as keyof typeof processors], FlushHook],
})
class AppModule {}

void bootWorkerFixture(AppModule);

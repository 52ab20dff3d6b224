import { Body, Controller, HttpCode, Post, ServiceUnavailableException } from '@nestjs/common';
import type { EmailJob } from './email.job.js';
import { MemoryQueue } from './memory.queue.js';

/** Enqueues into the in-process queue (without Redis, producers reach the sample over HTTP). */
@Controller('jobs')
export class JobsController {
  constructor(private readonly queue: MemoryQueue) {}

  @Post()
  @HttpCode(202)
  enqueue(@Body() job: EmailJob): { accepted: true } {
    if (!this.queue.push({ to: String(job?.to ?? 'someone'), ms: Number(job?.ms ?? 100) })) {
      throw new ServiceUnavailableException('shutting down: not accepting jobs');
    }
    return { accepted: true };
  }
}

import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';
import { EMAIL_QUEUE } from './email.job.js';
import { EmailProcessor } from './email.processor.js';
import { JobsController } from './jobs.controller.js';
import { MemoryQueue } from './memory.queue.js';

@Module({})
export class JobsModule {
  /** BullMQ on the given Redis, or the in-process queue without one. */
  static forRoot(redis?: { host: string; port: number }): DynamicModule {
    if (redis) {
      return {
        module: JobsModule,
        imports: [BullModule.forRoot({ connection: redis }), BullModule.registerQueue({ name: EMAIL_QUEUE })],
        providers: [EmailProcessor],
      };
    }
    return { module: JobsModule, controllers: [JobsController], providers: [MemoryQueue] };
  }
}

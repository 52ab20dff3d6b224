import type { SchedulerRegistry } from '@nestjs/schedule';
import { importIfUsed } from './optional-peer.js';
import type { WorkerSource, WorkerSourceFinder } from './worker-source.interface.js';

/**
 * `@nestjs/schedule`: at the fire phase, does what its orchestrator only does in
 * `beforeApplicationShutdown` — remove every cron job, interval and timeout from the
 * `SchedulerRegistry` — so none ticks during the drain. Removing, not just stopping,
 * also keeps a cron whose `initialDelay` is still pending from starting later.
 *
 * Runs in flight are counted by `@TrackedWorker()`; a cron job created with
 * `waitForCompletion: true` is also waited for without it.
 */
export const findScheduleSources: WorkerSourceFinder = async (ctx) => {
  const schedule = await importIfUsed<typeof import('@nestjs/schedule')>(ctx, 'ScheduleModule', '@nestjs/schedule');
  if (!schedule) return [];
  let registry: SchedulerRegistry;
  try {
    registry = ctx.moduleRef.get(schedule.SchedulerRegistry, { strict: false });
  } catch {
    return [];
  }
  return [new ScheduleSource(registry)];
};

class ScheduleSource implements WorkerSource {
  readonly name = 'schedule';

  constructor(private readonly registry: SchedulerRegistry) {}

  stopIntake(): Promise<unknown> {
    const waits: unknown[] = [];
    const cronJobs = this.registry.getCronJobs();
    for (const [name, job] of [...cronJobs]) {
      // stop() returns a promise only for `waitForCompletion` jobs: it settles once the run ends.
      waits.push(job.stop());
      cronJobs.delete(name);
    }
    for (const name of this.registry.getIntervals()) this.registry.deleteInterval(name);
    for (const name of this.registry.getTimeouts()) this.registry.deleteTimeout(name);
    return Promise.allSettled(waits);
  }
}

/**
 * `@nestjs/schedule` under shutdown: a cron run held in flight at the signal, an untracked
 * `waitForCompletion` cron run held longer, a tracked interval, an untracked interval and
 * a timeout due during the drain. `@TrackedWorker()`
 * sits below `@Cron()` and above `@Interval()`: both orders must work.
 *
 * The first cron run (a full second after startup at the latest) waits until quitting
 * begins, then until the timeout has been due for 200 ms: the drain provably lasts past
 * the moment the timeout would fire, with the intervals due dozens of times meanwhile.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Cron, CronExpression, Interval, ScheduleModule, Timeout } from '@nestjs/schedule';
import { QuitModule, QuitService, TrackedWorker } from '../../lib/index.js';
import { ev, sleep } from './log.js';
import { bootWorkerFixture, FlushHook, untilQuitting } from './worker-common.js';
import { Pool } from './pool.js';

const TIMEOUT_MS = 2_500;
const bootedAt = Date.now();


@Injectable()
class Schedules {
  private cronRuns = 0;
  private settleRuns = 0;

  constructor(
    private readonly pool: Pool,
    private readonly quit: QuitService,
  ) {}

  @Cron(CronExpression.EVERY_SECOND, { name: 'report' })
  @TrackedWorker()
  async report(): Promise<void> {
    const n = ++this.cronRuns;
    ev(`cron.start ${n}`);
    if (n === 1) {
      await untilQuitting(this.quit);
      await sleep(Math.max(0, bootedAt + TIMEOUT_MS + 200 - Date.now()));
    }
    await this.pool.query(20);
    ev(`cron.end ${n}`);
  }

  /** Untracked, but `waitForCompletion`: the module waits for its run through cron's own stop(). */
  @Cron(CronExpression.EVERY_SECOND, { name: 'settle', waitForCompletion: true })
  async settle(): Promise<void> {
    const n = ++this.settleRuns;
    ev(`settle.start ${n}`);
    if (n === 1) {
      await untilQuitting(this.quit);
      // Past the end of the tracked run above: only a wait for this run keeps the hooks back.
      await sleep(Math.max(0, bootedAt + TIMEOUT_MS + 600 - Date.now()));
    }
    await this.pool.query(20);
    ev(`settle.end ${n}`);
  }

  @TrackedWorker()
  @Interval('poll', 40)
  async poll(): Promise<void> {
    ev('interval.start');
    await this.pool.query(10);
    ev('interval.end');
  }

  @Interval('untracked', 40)
  untracked(): void {
    ev('untracked.tick');
  }

  @Timeout('late', TIMEOUT_MS)
  late(): void {
    ev('timeout.fired');
  }
}

@Module({
  imports: [QuitModule.forRoot({ timeoutMs: 8_000 }), ScheduleModule.forRoot()],
  providers: [Pool, Schedules, FlushHook],
})
class AppModule {}

void bootWorkerFixture(AppModule);

export interface TrackedWorkerOptions {
  /** Name in logs and in the report. @default `Class@method` */
  name?: string;
  /**
   * What a call does once quitting has begun:
   * - `'skip'`: the method does not run; the call returns `undefined` (a resolved
   *   promise of `undefined` for an `async` method). Right for crons and intervals.
   * - `'reject'`: the call throws (an `async` method rejects) a `QuitRejectedError`, so a
   *   caller that must not lose the work sees it was not done.
   * - `'run'`: the call runs and is counted as usual. Right when whatever calls the
   *   method already stops taking work at quit time, so a call that still arrives
   *   carries work already taken (a message fetched from a broker).
   * @default 'skip' — but `'run'` on the `process()` of an `@nestjs/bullmq` `WorkerHost`,
   * whose worker the module closes itself: skipping a fetched job would mark it
   * completed without running it.
   */
  whenQuitting?: 'skip' | 'reject' | 'run';
}

/** One run of work counted by `QuitService.trackWorker()`. */
export interface WorkerHandle {
  readonly name: string;
  /** Aborts when quitting begins: a loop checks it to stop taking new work. */
  readonly signal: AbortSignal;
  /** Marks the run finished. Calling it again does nothing. */
  done(): void;
}

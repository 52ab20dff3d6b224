import type { LoggerService } from '@nestjs/common';
import type { DiscoveryService, ModuleRef, ModulesContainer } from '@nestjs/core';

/**
 * Something that starts background runs on its own — a scheduler, a queue worker —
 * and that the module stops at the fire phase and waits for in the workers phase.
 * One per library: a new integration is a new file and a line in `./index.ts`.
 */
export interface WorkerSource {
  /** Its name in the report, e.g. `bullmq:emails` or `schedule`. */
  readonly name: string;
  /**
   * Stops starting runs. Called synchronously inside the fire step, so nothing may
   * begin once `isQuitting` is true; anything slow belongs in the promise returned.
   * @returns what the workers phase waits for (runs in flight finished and
   * acknowledged), or nothing when `@TrackedWorker()` already counts those runs.
   */
  stopIntake(): Promise<unknown> | void;
}

export interface WorkerSourceContext {
  discovery: DiscoveryService;
  modules: ModulesContainer;
  moduleRef: ModuleRef;
  logger?: LoggerService;
}

/**
 * Finds the sources of one library in the application. It must not load the library
 * unless the application uses it (optional peer dependencies): see `importIfUsed`.
 */
export type WorkerSourceFinder = (ctx: WorkerSourceContext) => Promise<WorkerSource[]>;

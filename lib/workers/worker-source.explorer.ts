import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, ModuleRef, ModulesContainer } from '@nestjs/core';
import { QuitMessages } from '../quit.messages.js';
import { QuitService } from '../quit.service.js';
import { workerSourceFinders } from './index.js';
import type { WorkerSource } from './worker-source.interface.js';

/**
 * Finds the schedulers and queue workers of the application at startup; when quitting
 * begins, stops them from starting new runs (inside the fire step) and counts their
 * closing as tracked work, which the workers phase waits for.
 */
@Injectable()
export class WorkerSourceExplorer implements OnModuleInit {
  private sources: WorkerSource[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly modules: ModulesContainer,
    private readonly moduleRef: ModuleRef,
    private readonly quit: QuitService,
  ) {}

  async onModuleInit(): Promise<void> {
    const ctx = { discovery: this.discovery, modules: this.modules, moduleRef: this.moduleRef, logger: this.quit.options.logger };
    this.sources = (await Promise.all(workerSourceFinders.map((find) => find(ctx)))).flat();
    if (this.sources.length === 0) return;
    // The abort listeners run synchronously inside the fire step.
    this.quit.signal.addEventListener('abort', () => this.stopIntake(), { once: true });
  }

  private stopIntake(): void {
    for (const source of this.sources) {
      let closing: Promise<unknown> | void;
      try {
        closing = source.stopIntake();
      } catch (error) {
        this.failed(source, error);
        continue;
      }
      if (closing) this.quit.track(Promise.resolve(closing).catch((error) => this.failed(source, error)), source.name);
    }
  }

  private failed(source: WorkerSource, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.quit.options.logger?.error(`${QuitMessages.workerSourceFailed(source.name)}: ${message}`, error instanceof Error ? error.stack : undefined);
  }
}

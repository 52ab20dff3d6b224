import { Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { QuitCoordinator } from './process/quit.coordinator.js';
import { QuitMetadataAccessor } from './quit-metadata.accessor.js';
import { QUIT_CORE, QUIT_HOOK_DISTANCE } from './quit.constants.js';
import { QuitExplorer } from './quit.explorer.js';

/**
 * The hooks that must come first or last, in a module moved to distance Infinity:
 * its `onModuleInit` runs before every other one (the hooks, tracked instances and
 * worker sources are in place before user code starts work), and its
 * `onApplicationShutdown` after every other one (the shutdown is over: the exit).
 */
@Injectable()
export class QuitOuterLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(QUIT_CORE) private readonly core: QuitCoordinator,
    private readonly explorer: QuitExplorer,
  ) {}

  async onModuleInit(): Promise<void> {
    this.core.initStarted();
    await this.explorer.explore();
  }

  onApplicationShutdown(): void {
    this.core.finish();
  }
}

/** Holds the discovery and the outer hooks in a module of its own, so that its hooks can be ordered first and last. */
@Module({
  imports: [DiscoveryModule],
  providers: [QuitMetadataAccessor, QuitExplorer, QuitOuterLifecycle],
  exports: [QuitExplorer],
})
export class QuitOuterModule {
  static readonly [QUIT_HOOK_DISTANCE] = Infinity;
}

import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { prepareDrainers } from './drainers/index.js';
import { importersOf, moduleClass, modulesWhere, setHookDistance } from './internals/nest-core.js';
import type { QuitCoordinator } from './process/quit.coordinator.js';
import { QUIT_CORE, QUIT_HOOK_DISTANCE } from './quit.constants.js';
import { QuitExplorer } from './quit.explorer.js';
import { QuitMessages } from './quit.messages.js';

/**
 * The `QuitModule`'s own hooks, moved to distance -1: its `onModuleDestroy` runs before
 * every other module's (the pipeline drains before any pool closes), and so its
 * `onApplicationBootstrap` runs after every other one (initialisation is over).
 */
@Injectable()
export class QuitLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    modules: ModulesContainer,
    @Inject(QUIT_CORE) private readonly core: QuitCoordinator,
    private readonly explorer: QuitExplorer,
  ) {
    orderLifecycleHooks(modules, core);
    // Gateways listen during app.init(), before any lifecycle hook: their adapter is watched now.
    prepareDrainers(modules, core.options);
  }

  onApplicationBootstrap(): void {
    this.explorer.exploreTransports();
    this.core.initFinished();
  }

  async onModuleDestroy(): Promise<void> {
    await this.core.onNestDestroy();
  }
}

/**
 * Nest sorts the modules by `distance` once, in `init()`, after every provider is
 * built; so a constructor is the moment to move the `QuitModule` to the front (-1) and
 * the outer module to the very end (Infinity): each module class says where it goes
 * with a static `QUIT_HOOK_DISTANCE`. Also refuses a second `QuitModule` in one app.
 */
function orderLifecycleHooks(modules: ModulesContainer, core: QuitCoordinator): void {
  const ours = modulesWhere(modules, isQuitModule);
  if (ours.length > 1) {
    const importers = importersOf(modules, isQuitModule);
    throw new Error(QuitMessages.duplicateModule(importers.length >= 2 ? importers : [`${ours.length} imports`]));
  }
  let found = false;
  for (const moduleRef of modules.values()) {
    const distance = (moduleClass(moduleRef) as { [QUIT_HOOK_DISTANCE]?: number } | undefined)?.[QUIT_HOOK_DISTANCE];
    if (typeof distance !== 'number') continue;
    if (setHookDistance(moduleRef, distance, core.options.logger)) found ||= distance < 0;
    else return;
  }
  if (!found) core.options.logger?.warn(QuitMessages.moduleNotFound());
}

/** The `QuitModule` says it goes first (a negative distance); imported without a cycle. */
const isQuitModule = (cls: Function) => ((cls as { [QUIT_HOOK_DISTANCE]?: number })[QUIT_HOOK_DISTANCE] ?? 0) < 0;

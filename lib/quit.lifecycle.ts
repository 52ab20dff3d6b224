import { Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { discoverDrainers, prepareDrainers } from './drainers/index.js';
import { QuitExitPolicy } from './process/exit.policy.js';
import { QUIT_HOOK_DISTANCE } from './quit.constants.js';
import { QuitMessages } from './quit.messages.js';
import { QuitService } from './quit.service.js';

/**
 * Ties the quit pipeline into Nest's lifecycle, so it runs before any provider's
 * `onModuleDestroy` whatever started the shutdown: a signal, `app.close()` or `quit()`.
 */
@Injectable()
export class QuitLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly modules: ModulesContainer,
    private readonly quit: QuitService,
    private readonly policy: QuitExitPolicy,
    @Optional() private readonly httpHost?: HttpAdapterHost,
  ) {
    orderLifecycleHooks(modules, quit);
    prepareDrainers(modules);
  }

  onApplicationBootstrap(): void {
    // Not in the constructor: the HTTP server does not exist yet when providers are built.
    discoverDrainers({
      httpHost: this.httpHost,
      modules: this.modules,
      options: this.quit.options,
      add: (drainer) => this.quit.addDrainer(drainer),
      beginQuit: () => this.onModuleDestroy(),
    });
    this.policy.markBootstrapped();
  }

  /** Runs first of all `onModuleDestroy` hooks (see `orderLifecycleHooks`). */
  async onModuleDestroy(): Promise<void> {
    const { trigger, signal } = this.policy.closeTrigger();
    await this.quit.begin(trigger, { signal });
  }
}

/**
 * Nest runs destroy-type hooks module by module, by ascending `distance` from the root
 * module (depth 1 and up; 0 for modules outside the import tree), and gives a `@Global()`
 * module `Number.MAX_VALUE`, so a global module's `onModuleDestroy` would run after
 * everyone else's: exactly wrong for draining before pools close. Nest sorts the modules
 * once, in `app.init()`, after every provider is built; so a constructor is the moment to
 * move the `QuitModule` to the front (-1) and the finalizer module to the very end
 * (Infinity); each module class says where it goes with a static `QUIT_HOOK_DISTANCE`. This is the one seam that Nest 11 and Nest 12 share.
 */
function orderLifecycleHooks(modules: ModulesContainer, quit: QuitService): void {
  let found = false;
  for (const moduleRef of modules.values()) {
    const distance = (moduleRef.metatype as { [QUIT_HOOK_DISTANCE]?: number } | undefined)?.[QUIT_HOOK_DISTANCE];
    if (typeof distance !== 'number') continue;
    moduleRef.distance = distance;
    found ||= distance < 0;
  }
  if (!found) quit.options.logger?.warn(QuitMessages.moduleNotFound());
}

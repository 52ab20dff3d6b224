import { Inject, Injectable, Optional } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, ModuleRef, ModulesContainer } from '@nestjs/core';
import { discoverDrainers } from './drainers/index.js';
import { isError } from './errors/error-message.js';
import { wrapperInstance } from './internals/nest-core.js';
import type { QuitCoordinator } from './process/quit.coordinator.js';
import { QuitMetadataAccessor } from './quit-metadata.accessor.js';
import { QUIT_CORE, QUIT_TRACKER } from './quit.constants.js';
import { QuitMessages } from './quit.messages.js';
import { workerSourceFinders } from './workers/index.js';

/**
 * Everything the pipeline will drain, found in one place and handed to the coordinator:
 * `@OnQuit()` hooks, instances with `@TrackedWorker()` methods (they get their gate),
 * schedulers and queue workers (`explore`, before any other `onModuleInit`), and the
 * transports' servers (`exploreTransports`, once the HTTP server exists).
 */
@Injectable()
export class QuitExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: QuitMetadataAccessor,
    private readonly modules: ModulesContainer,
    private readonly moduleRef: ModuleRef,
    @Inject(QUIT_CORE) private readonly core: QuitCoordinator,
    @Optional() private readonly httpHost?: HttpAdapterHost,
  ) {}

  /** Hooks, tracked instances and worker sources: every instance exists, no user `onModuleInit` has run yet. */
  async explore(): Promise<void> {
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    // One instance can stand behind several wrappers (an alias, a provider exported and
    // re-provided): its hooks must be registered once.
    const seen = new WeakSet<object>();
    for (const wrapper of wrappers) {
      const found = wrapperInstance(wrapper, this.core.options.logger);
      if (!found || seen.has(found.instance)) continue;
      seen.add(found.instance);
      this.exploreInstance(found.instance as Record<string, Function>, found.name, found.isStatic);
    }
    const ctx = { discovery: this.discovery, modules: this.modules, moduleRef: this.moduleRef, logger: this.core.options.logger };
    const sources = (await Promise.all(workerSourceFinders.map((find) => find(ctx)))).flat();
    sources.forEach((source) => this.core.addSource(source));
  }

  /** The transports' servers: the HTTP server does not exist before bootstrap. */
  exploreTransports(): void {
    discoverDrainers({
      httpHost: this.httpHost,
      modules: this.modules,
      options: this.core.options,
      add: (drainer) => this.core.addDrainer(drainer),
      beginQuit: () => this.core.onNestDestroy(),
    });
  }

  private exploreInstance(instance: Record<string, Function>, wrapperName: string, isStatic: boolean): void {
    const proto = Object.getPrototypeOf(instance);
    if (!proto || proto === Object.prototype) return;
    const className = instance.constructor?.name ?? wrapperName;
    let tracked = false;
    for (const method of this.scanner.getAllMethodNames(proto)) {
      const fn = proto[method];
      const onQuit = this.accessor.getOnQuit(fn);
      const worker = this.accessor.getTrackedWorker(fn);
      if (!onQuit && !worker) continue;
      const where = `${className}@${method}`;
      if (!isStatic) {
        this.core.options.logger?.warn(QuitMessages.requestScoped(onQuit ? '@OnQuit()' : '@TrackedWorker()', where));
        continue;
      }
      if (onQuit && worker) throw new Error(QuitMessages.hookAndWorker(where));
      if (worker) tracked = true;
      if (onQuit) {
        try {
          this.core.hooks.add((signal) => instance[method](signal), { ...onQuit, name: onQuit.name ?? where });
        } catch (error) {
          if (isError(error)) error.message = `@OnQuit() on ${where}: ${error.message}`;
          throw error;
        }
      }
    }
    if (tracked) Object.defineProperty(instance, QUIT_TRACKER, { value: this.core, configurable: true });
  }
}

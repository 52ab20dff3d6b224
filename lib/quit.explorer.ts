import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { QuitMetadataAccessor } from './quit-metadata.accessor.js';
import { QUIT_TRACKER } from './quit.constants.js';
import { QuitMessages } from './quit.messages.js';
import { QuitService } from './quit.service.js';

/**
 * Finds `@OnQuit()` and `@TrackedWorker()` methods on the app's providers and
 * controllers: registers the hooks, and gives instances with tracked methods their
 * `QuitService`.
 */
@Injectable()
export class QuitExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: QuitMetadataAccessor,
    private readonly quit: QuitService,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    // One instance can stand behind several wrappers (an alias, a provider exported and
    // re-provided): its hooks must be registered once.
    const seen = new WeakSet<object>();
    for (const wrapper of wrappers) {
      const { instance } = wrapper;
      if (wrapper.isAlias || !instance || typeof instance !== 'object' || seen.has(instance)) continue;
      seen.add(instance);
      this.explore(wrapper);
    }
  }

  private explore(wrapper: InstanceWrapper): void {
    const { instance } = wrapper;
    const proto = Object.getPrototypeOf(instance);
    if (!proto || proto === Object.prototype) return;
    const className = instance.constructor?.name ?? String(wrapper.name);
    const isStatic = wrapper.isDependencyTreeStatic();
    let tracked = false;
    for (const method of this.scanner.getAllMethodNames(proto)) {
      const fn = proto[method];
      const onQuit = this.accessor.getOnQuit(fn);
      const worker = this.accessor.getTrackedWorker(fn);
      if (!onQuit && !worker) continue;
      const where = `${className}@${method}`;
      if (!isStatic) {
        this.quit.options.logger?.warn(QuitMessages.requestScoped(onQuit ? '@OnQuit()' : '@TrackedWorker()', where));
        continue;
      }
      if (onQuit && worker) throw new Error(QuitMessages.hookAndWorker(where));
      if (worker) tracked = true;
      if (onQuit) {
        try {
          this.quit.onQuit((signal) => instance[method](signal), { ...onQuit, name: onQuit.name ?? where });
        } catch (error) {
          if (error instanceof Error) error.message = `@OnQuit() on ${where}: ${error.message}`;
          throw error;
        }
      }
    }
    if (tracked) Object.defineProperty(instance, QUIT_TRACKER, { value: this.quit, configurable: true });
  }
}

import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { QuitModuleAsyncOptions, QuitModuleOptions, QuitOptionsFactory } from './interfaces/quit-options.interface.js';
import { QuitCoordinator, realProcessProvider } from './process/quit.coordinator.js';
import { QUIT_HOOK_DISTANCE, QUIT_MODULE_OPTIONS } from './quit.constants.js';
import { QuitOuterModule } from './quit.finalizer.js';
import { QuitLifecycle } from './quit.lifecycle.js';
import { resolveQuitOptions } from './quit.options.js';
import { QuitReporter } from './quit.reporter.js';
import { QuitService } from './quit.service.js';

/** The coordinator owns the shutdown; the service is its public face; the rest wire it to Nest. */
const CORE_PROVIDERS: Provider[] = [
  realProcessProvider,
  QuitCoordinator,
  QuitService,
  QuitReporter,
  QuitLifecycle,
];

/**
 * Graceful shutdown for the whole application. Import it once, in the root module:
 * `QuitModule.forRoot()`, and keep `app.enableShutdownHooks()` in `main.ts`.
 */
@Global()
@Module({})
export class QuitModule {
  /** Its `onModuleDestroy` hooks run before every other module's (see `QuitLifecycle`); the `QuitOuterModule`'s init hooks run first and its `onApplicationShutdown` last. */
  static readonly [QUIT_HOOK_DISTANCE] = -1;

  /** Options are checked here, at startup: a bad value throws a `QuitOptionsError` naming it. */
  static forRoot(options: QuitModuleOptions = {}): DynamicModule {
    const resolved = resolveQuitOptions(options);
    return QuitModule.build([{ provide: QUIT_MODULE_OPTIONS, useValue: resolved }], []);
  }

  static forRootAsync(options: QuitModuleAsyncOptions): DynamicModule {
    const { useFactory, useClass, useExisting, inject = [], imports = [] } = options ?? {};
    const given = [useFactory, useClass, useExisting].filter(Boolean).length;
    if (given !== 1) {
      throw new TypeError('QuitModule.forRootAsync() needs exactly one of useFactory, useClass or useExisting.');
    }
    const providers: Provider[] = [];
    if (useFactory) {
      providers.push({
        provide: QUIT_MODULE_OPTIONS,
        useFactory: async (...args: unknown[]) => resolveQuitOptions(await useFactory(...args)),
        inject,
      });
    } else {
      const factory = (useClass ?? useExisting)!;
      if (useClass) providers.push({ provide: useClass, useClass });
      providers.push({
        provide: QUIT_MODULE_OPTIONS,
        useFactory: async (f: QuitOptionsFactory) => resolveQuitOptions(await f.createQuitOptions()),
        inject: [factory],
      });
    }
    return QuitModule.build(providers, imports);
  }

  private static build(providers: Provider[], imports: NonNullable<QuitModuleAsyncOptions['imports']>): DynamicModule {
    return {
      module: QuitModule,
      global: true,
      imports: [...imports, DiscoveryModule, QuitOuterModule],
      providers: [...providers, ...CORE_PROVIDERS],
      exports: [QuitService, QuitCoordinator],
    };
  }
}

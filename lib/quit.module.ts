import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { QuitModuleAsyncOptions, QuitModuleOptions } from './interfaces/quit-options.interface.js';
import { QuitGrpcHealth } from './health/quit-grpc-health.service.js';
import { QuitHealthIndicator } from './health/quit.health-indicator.js';
import { QuitCoordinator, realProcessProvider } from './process/quit.coordinator.js';
import { ConfigurableQuitModule, QUIT_RAW_OPTIONS } from './quit.module-definition.js';
import { QUIT_CORE, QUIT_HOOK_DISTANCE, QUIT_MODULE_OPTIONS } from './quit.constants.js';
import { QuitOuterModule } from './quit.finalizer.js';
import { QuitLifecycle } from './quit.lifecycle.js';
import { resolveQuitOptions } from './quit.options.js';
import { QuitReporter } from './quit.reporter.js';
import { QuitService } from './quit.service.js';

/** The coordinator owns the shutdown; the service is its public face; the rest wire it to Nest. */
const CORE_PROVIDERS: Provider[] = [
  realProcessProvider,
  { provide: QUIT_CORE, useClass: QuitCoordinator },
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
export class QuitModule extends ConfigurableQuitModule {
  /** Its `onModuleDestroy` hooks run before every other module's (see `QuitLifecycle`); the `QuitOuterModule`'s init hooks run first and its `onApplicationShutdown` last. */
  static readonly [QUIT_HOOK_DISTANCE] = -1;

  /** Options are checked here, at startup: a bad value throws a `QuitOptionsError` naming it. */
  static override forRoot(options: QuitModuleOptions = {}): DynamicModule {
    const resolved = resolveQuitOptions(options);
    return QuitModule.build(super.forRoot(options), { provide: QUIT_MODULE_OPTIONS, useValue: resolved });
  }

  /**
   * `{ imports?, useFactory, inject? }`, `{ useClass }` or `{ useExisting }` (a class with
   * `createQuitOptions()`); the options made are checked as `forRoot` checks them.
   */
  static override forRootAsync(options: QuitModuleAsyncOptions): DynamicModule {
    const { useFactory, useClass, useExisting } = options ?? {};
    const given = [useFactory, useClass, useExisting].filter(Boolean).length;
    if (given !== 1) {
      throw new TypeError('QuitModule.forRootAsync() needs exactly one of useFactory, useClass or useExisting.');
    }
    return QuitModule.build(super.forRootAsync(options), {
      provide: QUIT_MODULE_OPTIONS,
      useFactory: (raw: QuitModuleOptions) => resolveQuitOptions(raw),
      inject: [QUIT_RAW_OPTIONS],
    });
  }

  private static build(definition: DynamicModule, options: Provider): DynamicModule {
    return {
      ...definition,
      module: QuitModule,
      global: true,
      imports: [...(definition.imports ?? []), DiscoveryModule, QuitOuterModule],
      providers: [...(definition.providers ?? []), options, ...CORE_PROVIDERS, QuitHealthIndicator, QuitGrpcHealth],
      // QUIT_CORE for the QuitOuterModule's providers; no user code holds the token.
      exports: [QuitService, QUIT_CORE, QuitHealthIndicator, QuitGrpcHealth],
    };
  }
}

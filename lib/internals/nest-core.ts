/**
 * Every reach of nestjs-quit's core into `@nestjs/core` beyond its documented API, in
 * one file. Read against @nestjs/core 12.5.1 (`injector/module.js`,
 * `nest-application-context.js`) and 11.2.10. Each reach is probed before use: a field
 * that is missing in some version is a startup warning that says what no longer works,
 * never a crash.
 *
 * The transports' reaches have their own files here, one per library
 * (`nest-microservices.ts`, `grpc-js.ts`, `nest-websockets.ts`, …; see docs/ARCHITECTURE.md).
 */
import type { LoggerService } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import { QuitMessages } from '../quit.messages.js';

/** What is read of Nest's `Module` (`injector/module.js`): the class is not exported as API. */
interface NestModuleRef {
  readonly metatype?: unknown;
  /** Getter/setter on `Module`; init-type hooks run by descending distance, destroy-type ones by ascending. */
  distance?: number;
}

/** The module class a container entry stands for (`Module#metatype`). */
export function moduleClass(moduleRef: unknown): Function | undefined {
  const metatype = (moduleRef as NestModuleRef | undefined)?.metatype;
  return typeof metatype === 'function' ? metatype : undefined;
}

/**
 * Moves a module's lifecycle hooks: Nest sorts the modules by `distance` once, in
 * `init()`, after every provider is built, so a constructor may still change it. A
 * `@Global()` module gets `Number.MAX_VALUE` (its `onModuleDestroy` would run last).
 * @returns false (and a warning) when `distance` is not a settable number in this Nest.
 */
export function setHookDistance(moduleRef: unknown, distance: number, logger?: LoggerService): boolean {
  const ref = moduleRef as NestModuleRef;
  const probe = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ref) ?? {}, 'distance');
  if (typeof ref?.distance !== 'number' || !probe?.set) {
    logger?.warn(
      QuitMessages.nestInternalMissing(
        'Module#distance',
        'the quit pipeline may run after other modules\' onModuleDestroy, and tracked workers started in onModuleInit may not be counted.',
      ),
    );
    return false;
  }
  ref.distance = distance;
  return true;
}

/** The container's entries whose module class passes `test`. */
export function modulesWhere(modules: ModulesContainer, test: (cls: Function) => boolean): unknown[] {
  return [...modules.values()].filter((m) => {
    const cls = moduleClass(m);
    return cls !== undefined && test(cls);
  });
}

/**
 * The names of the modules that import a module passing `test` (as a class or a dynamic module), read
 * from their `@Module()` metadata (`'imports'`, the key `@Module()` writes). A module
 * reached only through another dynamic module's `imports` is not named.
 */
export function importersOf(modules: ModulesContainer, test: (cls: Function) => boolean): string[] {
  const names: string[] = [];
  const matches = (i: unknown) => {
    const cls = typeof i === 'function' ? i : (i as { module?: unknown } | null)?.module;
    return typeof cls === 'function' && test(cls);
  };
  for (const moduleRef of modules.values()) {
    const cls = moduleClass(moduleRef);
    if (!cls || test(cls)) continue;
    const imports = (Reflect.getMetadata?.('imports', cls) ?? []) as unknown[];
    const count = imports.filter(matches).length;
    for (let n = 0; n < count; n++) names.push(cls.name);
  }
  return names;
}

/** What is read of Nest's `InstanceWrapper` (`injector/instance-wrapper.js`), as `DiscoveryService` hands it out. */
interface NestInstanceWrapper {
  readonly instance?: unknown;
  readonly name?: unknown;
  readonly isAlias?: boolean;
  isDependencyTreeStatic?(): boolean;
}

let staticProbeWarned = false;

/**
 * The instance behind a provider or controller wrapper, when it is the one to explore:
 * not an alias (`useExisting`) of another wrapper. `isStatic` is false for request- and
 * transient-scoped trees (`isDependencyTreeStatic()`); where that method is missing, the
 * wrapper is taken as static and a warning says so once.
 */
export function wrapperInstance(wrapper: unknown, logger?: LoggerService): { instance: object; name: string; isStatic: boolean } | undefined {
  const w = wrapper as NestInstanceWrapper;
  if (w?.isAlias === true) return undefined;
  const instance = w?.instance;
  if (!instance || typeof instance !== 'object') return undefined;
  let isStatic = true;
  if (typeof w.isDependencyTreeStatic === 'function') isStatic = w.isDependencyTreeStatic();
  else if (!staticProbeWarned) {
    staticProbeWarned = true;
    logger?.warn(QuitMessages.nestInternalMissing('InstanceWrapper#isDependencyTreeStatic()', 'request-scoped providers are not told apart; their @OnQuit() hooks may be registered once.'));
  }
  return { instance, name: String(w.name ?? ''), isStatic };
}

import type { TrackedWorkerOptions } from '../interfaces/tracked-worker.interface.js';
import { ON_QUIT_METADATA, QUIT_TRACKER, QUIT_WHEN_QUITTING, TRACKED_WORKER_METADATA, TRACKED_WRAPPER } from '../quit.constants.js';
import { QuitRejectedError } from '../errors/quit-rejected.error.js';
import type { WorkerGate } from '../process/quit.coordinator.js';

const WHEN_QUITTING = new Set(['skip', 'reject', 'run']);

const LIFECYCLE_HOOKS = new Set([
  'constructor',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * Counts every call of the method while it runs (sync or async), so the shutdown waits
 * for runs in flight before the quit hooks and `onModuleDestroy`. Once quitting has
 * begun, new calls do not start — except with `whenQuitting: 'run'`, the default on a
 * BullMQ `WorkerHost`'s `process()`: see `whenQuitting`.
 *
 * On a class, it tracks every method the class itself declares, lifecycle hooks and
 * `@OnQuit()` methods aside.
 *
 * It stacks with `@Cron()`, `@Interval()`, a queue processor's `process()` and the like,
 * above or below them.
 */
export function TrackedWorker(options: TrackedWorkerOptions = {}): MethodDecorator & ClassDecorator {
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      descriptor.value = wrap(descriptor.value, (target as object).constructor?.name, String(key), options);
      return descriptor;
    }
    const proto = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const own = Object.getOwnPropertyDescriptor(proto, name)!;
      if (LIFECYCLE_HOOKS.has(name) || typeof own.value !== 'function' || own.value[TRACKED_WRAPPER]) continue;
      // A quit hook runs while quitting, when a tracked worker would not start.
      if (Reflect.getMetadata(ON_QUIT_METADATA, own.value)) continue;
      Object.defineProperty(proto, name, { ...own, value: wrap(own.value, (target as Function).name, name, options) });
    }
    return undefined;
  }) as MethodDecorator & ClassDecorator;
}

/**
 * Wraps at decoration time rather than at bootstrap: a scheduler or queue reads and
 * binds the method in its own `onModuleInit`, which may run before ours. The wrapper
 * finds its gate (the coordinator) on the instance, where the explorer puts it; without one
 * (before bootstrap, or outside Nest) it just calls the method.
 */
function wrap(original: unknown, className: string | undefined, method: string, options: TrackedWorkerOptions): Function {
  const where = `${className ?? 'anonymous'}@${method}`;
  if (typeof original !== 'function') {
    throw new TypeError(`@TrackedWorker() goes on a method; ${where} is not one.`);
  }
  if (options.whenQuitting !== undefined && !WHEN_QUITTING.has(options.whenQuitting)) {
    throw new TypeError(`@TrackedWorker() on ${where}: whenQuitting must be 'skip', 'reject' or 'run', got ${String(options.whenQuitting)}.`);
  }
  const isAsync = original.constructor?.name === 'AsyncFunction';
  const wrapper = function (this: Record<symbol, unknown>, ...args: unknown[]) {
    const quit = this?.[QUIT_TRACKER] as WorkerGate | undefined;
    if (!quit) return original.apply(this, args);
    const name = options.name ?? `${this.constructor?.name ?? 'anonymous'}@${method}`;
    // An integration that stops the source of the calls itself (a BullMQ worker) marks
    // the instance: a call that still arrives carries work already taken, which must run.
    const policy = options.whenQuitting ?? (this[QUIT_WHEN_QUITTING] as TrackedWorkerOptions['whenQuitting']) ?? 'skip';
    if (quit.isQuitting && policy !== 'run') {
      quit.workerSkipped(name);
      if (policy === 'reject') {
        const error = new QuitRejectedError(name);
        if (isAsync) return Promise.reject(error);
        throw error;
      }
      return isAsync ? Promise.resolve(undefined) : undefined;
    }
    const run = policy === 'run' ? tryTrack(quit, name) : quit.trackWorker(name);
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (error) {
      run.done();
      throw error;
    }
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(run.done, run.done);
    } else {
      run.done();
    }
    return result;
  };
  // Decorators listed below this one ran first and put their metadata on the original
  // function; a replacement that did not carry it over would silently disable them
  // (an @Interval() that never fires).
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapper);
  }
  Reflect.defineMetadata(TRACKED_WORKER_METADATA, options, wrapper);
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, TRACKED_WRAPPER, { value: original });
  return wrapper;
}

/** For `'run'`: past the workers phase nothing waits for the run any more, but it still runs. */
function tryTrack(quit: WorkerGate, name: string): { done(): void } {
  try {
    return quit.trackWorker(name);
  } catch {
    return { done: () => undefined };
  }
}

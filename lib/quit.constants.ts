/**
 * Injection token of the `QuitCoordinator`, the module's own: not `Symbol.for()` and not
 * exported from the package, so user code cannot inject the coordinator (its API is
 * `QuitService`).
 */
export const QUIT_CORE = Symbol('nestjs-quit:core');

/** Injection token of the resolved module options. */
export const QUIT_MODULE_OPTIONS = 'quit:module_options';

/** Metadata key set by `@OnQuit()` on a provider method. */
export const ON_QUIT_METADATA = 'quit:on_quit';

/** Metadata key set by `@TrackedWorker()` on a method or a class. */
export const TRACKED_WORKER_METADATA = 'quit:tracked_worker';

/**
 * Marks a function as a tracked-worker wrapper, so that a class-level
 * `@TrackedWorker()` does not wrap a method twice.
 */
export const TRACKED_WRAPPER = Symbol.for('nestjs-quit:tracked_wrapper');

/**
 * The property under which the explorer gives a provider instance its worker gate
 * (the coordinator): the wrapper made at decoration time reads it to count a run.
 */
export const QUIT_TRACKER = Symbol.for('nestjs-quit:tracker');

/**
 * The property under which a worker integration gives an instance the default
 * `whenQuitting` of its `@TrackedWorker()` methods (`'run'` on a BullMQ `WorkerHost`).
 */
export const QUIT_WHEN_QUITTING = Symbol.for('nestjs-quit:when_quitting');


/**
 * A static property of the module's own module classes: the `distance` the lifecycle
 * gives them, so that Nest runs their destroy-type hooks first or last.
 */
export const QUIT_HOOK_DISTANCE = Symbol.for('nestjs-quit:hook_distance');

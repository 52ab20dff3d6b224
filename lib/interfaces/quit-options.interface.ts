import type { ConfigurableModuleAsyncOptions, LoggerService } from '@nestjs/common';

/**
 * The transports the drain phase knows. `rpc` stands for every microservice
 * transport not named on its own in `transportOrder`.
 */
export type TransportKind = 'http' | 'grpc' | 'tcp' | 'redis' | 'nats' | 'mqtt' | 'rmq' | 'kafka' | 'rpc';

/** Timeouts of the phases that wait for work; each is also capped by what is left of `timeoutMs`. */
export interface QuitPhaseTimeouts {
  /**
   * How long the transports may take to finish the requests and calls in flight;
   * what is left then is force-closed and named in the report.
   * @default 10000
   */
  transports?: number;
  /**
   * How long tracked worker runs in flight may take.
   * @default 10000
   */
  workers?: number;
  /**
   * How long all quit hooks together may take (each hook also has its own timeout).
   * @default 10000
   */
  hooks?: number;
}

/** Options of the HTTP drainer. */
export interface QuitHttpOptions {
  /**
   * A keep-alive socket with no request in flight is closed during the drain only
   * once it has been idle this long: a client that has just picked the socket for
   * its next request gets that request served (with `Connection: close`) instead of
   * a reset.
   * @default 250
   */
  idleGraceMs?: number;
}

export interface QuitModuleOptions {
  /**
   * Overall deadline of a shutdown, from the moment it begins (the first signal,
   * `app.close()` or `quit()`). When a shutdown started by a signal or by `quit()`
   * is not over by then, the process exits with `failureExitCode` and logs the report.
   * @default 25000 (under Kubernetes' default 30 s grace period)
   */
  timeoutMs?: number;
  /**
   * How long to keep serving normally after quitting began, with readiness already
   * reporting "shutting down", so load balancers take the instance out first.
   * @default 0
   */
  readinessDelayMs?: number;
  /** Timeouts of the phases that wait for work. */
  phaseTimeouts?: QuitPhaseTimeouts;
  /**
   * Default timeout of one quit hook (`@OnQuit()` / `onQuit()`), unless the hook sets its own.
   * @default 5000
   */
  hookTimeoutMs?: number;
  /**
   * The order in which transports stop taking new work. Every transport not named
   * falls under `'rpc'`, or comes last when `'rpc'` is not named either.
   * @default ['http', 'grpc', 'rpc']
   */
  transportOrder?: TransportKind[];
  /** Options of the HTTP drainer. */
  http?: QuitHttpOptions;
  /**
   * The process signals that mean "shut down" for this app: the module watches them for
   * the deadline and the second-signal handling, and starts the quit pipeline on them.
   * It listens to one only while something else (Nest's `enableShutdownHooks()`, or a
   * `process.on(…)` of yours) listens to it too, so Node's default action for a signal
   * is never taken away by the module alone. Leave out a signal your app uses for
   * something else (SIGHUP to reopen logs, say).
   * @default ['SIGTERM', 'SIGINT']
   */
  signals?: NodeJS.Signals[];
  /**
   * Exit code of a clean shutdown started by a signal or by `quit()`. When unset,
   * the process exits as Nest makes it (re-raising the signal, or `process.exit(0)`
   * with `useProcessExit`).
   * @default undefined
   */
  exitCode?: number;
  /**
   * Exit code when a shutdown started by a signal or by `quit()` went wrong: a phase
   * or hook timed out, a hook failed, the deadline passed, or a second signal came.
   * @default 1
   */
  failureExitCode?: number;
  /**
   * What an uncaught exception or unhandled rejection does while no shutdown runs.
   * `true`: it starts the shutdown (trigger `'error'`, like close-with-grace): the
   * error is logged and recorded, the work in flight is drained, and the process exits
   * with `failureExitCode` within `timeoutMs`. `false`: Node's default, the process
   * dies at once and every request in flight is reset. During a shutdown such an error
   * is always logged, recorded and drained through, whatever this option says. An
   * unhandled rejection is seen as Node raises it (`--unhandled-rejections=throw`, the
   * default): not when the app listens to `unhandledRejection` itself.
   * @default true
   */
  quitOnUncaughtError?: boolean;
  /**
   * Where the module logs. `false` silences it.
   * @default new Logger('QuitModule')
   */
  logger?: LoggerService | false;
  /**
   * Serve the standard gRPC health service (`grpc.health.v1.Health`, Check and Watch) on
   * every gRPC server the module drains: `""` and each of the app's services answer
   * SERVING while up and NOT_SERVING from the first moment of quitting. Needs the package
   * `grpc-health-check`; checked at startup. Off by default: it adds a service to the
   * app's port and a package to its install.
   * @default false
   */
  grpcHealth?: boolean;
}

export interface QuitOptionsFactory {
  createQuitOptions(): QuitModuleOptions | Promise<QuitModuleOptions>;
}

/**
 * What `QuitModule.forRootAsync()` takes: Nest's `ConfigurableModuleAsyncOptions` — `imports`,
 * and one of `useFactory` (+ `inject`), `useClass` or `useExisting` (a `QuitOptionsFactory`).
 */
export interface QuitModuleAsyncOptions extends ConfigurableModuleAsyncOptions<QuitModuleOptions, 'createQuitOptions'> {}

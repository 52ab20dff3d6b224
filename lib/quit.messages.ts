/** `Unhandled rejection` or `Uncaught exception`, from the origin Node gives. */
function uncaughtKind(origin: string): string {
  return origin === 'unhandledRejection' ? 'Unhandled rejection' : 'Uncaught exception';
}

/** Every message the module logs or throws, as factories the tests import. */
export const QuitMessages = {
  started: (trigger: string, detail?: string) => `Shutting down (${trigger}${detail ? `: ${detail}` : ''})`,
  phaseTimedOut: (phase: string, ms: number, pending: string[]) =>
    `Phase "${phase}" did not finish within ${ms} ms; still pending: ${pending.length ? pending.join(', ') : 'nothing named'}`,
  hookFailed: (name: string) => `Quit hook ${name} failed`,
  hookTimedOut: (name: string, ms: number) => `Quit hook ${name} did not finish within ${ms} ms`,
  hookNotRun: (name: string) => `Quit hook ${name} did not run: the hooks phase ran out of time`,
  drainFailed: (name: string) => `Draining ${name} failed`,
  phaseFailed: (phase: string) => `Phase "${phase}" failed`,
  pipelineFailed: () => 'The quit pipeline stopped early (a bug of nestjs-quit)',
  forceCloseHung: (names: string[]) => `Force-closing ${names.join(', ')} did not finish within 1 s`,
  deadline: (ms: number) => `Shutdown did not finish within the ${ms} ms deadline; exiting now`,
  secondSignal: (signal: string) => `Received ${signal} again while shutting down; exiting now`,
  nestHooksPending: () => 'nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks still running',
  nestHooksNotRun: () => 'nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks (not run)',
  exiting: (code: number) => `Exiting with code ${code}`,
  requestScoped: (decorator: string, target: string) =>
    `${decorator} on ${target} is ignored: the provider is not static (request or transient scope). Move it to a singleton provider.`,
  hookAndWorker: (where: string) =>
    `@OnQuit() and @TrackedWorker() on ${where}: a quit hook runs while quitting, when a tracked worker does not start. Keep one of them.`,
  noShutdownHooks: () =>
    'QuitService.quit() ran the quit pipeline, but nothing listens to a shutdown signal, so it cannot close the application: call app.enableShutdownHooks() in main.ts, or app.close() yourself.',
  workerAfterClose: (name: string) =>
    `QuitService.trackWorker("${name}"): the workers phase of the shutdown is over; no new work can be tracked.`,
  skipOnQueueProcessor: (target: string) =>
    `@TrackedWorker({ whenQuitting: 'skip' }) on ${target} would mark a job fetched just before the shutdown completed without running it. Remove the option (the module closes BullMQ workers itself, and a job already fetched runs to the end) or use 'reject'.`,
  workerSourceFailed: (name: string) => `Stopping ${name} failed`,
  workerRejected: (name: string) => `${name} was not started: the application is shutting down.`,
  badHandler: (name: string) =>
    `QuitService.onQuit(${name}): expected a function, an object with close(), or an object with shutdown(signal).`,
  serverHookOption: (server: string, option: string) =>
    `QuitService.onQuit(server): option "${option}" is a quit hook's; a server (${server}) is drained in the transports phase, placed by transportOrder and bounded by phaseTimeouts.transports. Remove "${option}".`,
  serverAfterTransports: (server: string) =>
    `QuitService.onQuit(server): the transports phase of the shutdown is over, so nothing would drain this server (${server}). Register it before the shutdown, or close it yourself.`,
  serverName: (name: unknown) => `QuitService.onQuit(server): option "name" must be a non-empty string, got ${String(name)}.`,
  badWorkerName: (name: unknown) => `QuitService.trackWorker(): the name must be a non-empty string, got ${String(name)}.`,
  gatewaysNotWatched: () =>
    'nestjs-quit could not watch the WebSocket adapter (ApplicationConfig#getIoAdapter / adapter.create changed?): only gateways with a @WebSocketServer() property or on the HTTP server (platform-ws) are drained.',
  gatewayHandlersNotCounted: () =>
    'nestjs-quit could not wrap the WebSocket adapter\'s bindMessageHandlers: gateway messages in flight are not waited for; their connections get the goodbye as soon as the drain starts.',
  rpcHandlersNotCounted: (name: string, transport: string) =>
    `${name}: nestjs-quit found neither Server#runWithProcessingHooks nor the processing hook slots on this @nestjs/microservices ${transport} server, so its handlers in flight are not counted: ${
      transport === 'grpc'
        ? 'the drain still waits for grpc-js to end every call (tryShutdown), but cannot say how many calls are in flight.'
        : transport === 'tcp'
          ? "the drain waits for each connection only until Nest's handleMessage has returned for the frames it read; a handler still running then is cut off by Nest's close()."
          : "the drain does not wait for them, and Nest's close() cuts off those still running."
    }`,
  uncaughtError: (origin: string) => uncaughtKind(origin),
  uncaughtDuringShutdown: (origin: string, message: string) =>
    `${uncaughtKind(origin)} during the shutdown (recorded; the drain goes on, the exit will be non-zero): ${message}`,
  uncaughtStartsShutdown: (origin: string, message: string) => `${uncaughtKind(origin)}: shutting down (quitOnUncaughtError): ${message}`,
  uncaughtNotRecorded: (max: number) => `More than ${max} uncaught errors during the shutdown: the next ones are neither logged nor recorded`,
  processExitDuringShutdown: (code: number, skipped: string[]) =>
    `process.exit(${code}) was called before the shutdown finished; skipped: ${skipped.length ? skipped.join('; ') : 'nothing pending'}`,
  waitingForInit: () => 'Shutdown requested during initialisation: the quit pipeline starts once onModuleInit / onApplicationBootstrap have finished',
  initPending: () => 'nest: onModuleInit / onApplicationBootstrap still running',
  duplicateModule: (importers: string[]) =>
    `QuitModule.forRoot() is imported more than once (${importers.join(' and ')}): one application has one quit event. Import it once, in the root module; QuitService is global.`,
  nestInternalMissing: (what: string, consequence: string) =>
    `nestjs-quit: ${what} is not there in this version of @nestjs/core; ${consequence}`,
  httpInternalsMissing: (field: string) =>
    `The HTTP drain could not find Node's ${field} (a Node version nestjs-quit was not checked against): it falls back to counting idleness from the start of the drain and to remembering each connection's latest response, which is slower and holds more memory.`,
  grpcHealthPackageMissing: (why: string) =>
    `the package grpc-health-check installed (npm install grpc-health-check); loading it failed: ${why}`,
  grpcHealthBadStatus: (status: unknown) =>
    `QuitGrpcHealth.setStatus(): status must be 'SERVING' or 'NOT_SERVING', got ${JSON.stringify(status)}.`,
  grpcHealthNoListen: () =>
    'gRPC health: this @nestjs/microservices gRPC server has no listen() to follow; grpc.health.v1.Health is not served on it (grpcHealth).',
  grpcHealthNoServiceList: () =>
    'gRPC health: the services of this @grpc/grpc-js server cannot be listed (its handlers map moved); only "" (the whole server) is reported (grpcHealth).',
  grpcHealthServedByApp: (why: string) =>
    `gRPC health: the app serves grpc.health.v1.Health itself, so nestjs-quit leaves it alone (grpcHealth): ${why}`,
  moduleNotFound: () =>
    'QuitModule could not find its own module in the container, so its hooks may not run before other modules\' onModuleDestroy. Import QuitModule.forRoot() once in the root module.',
} as const;

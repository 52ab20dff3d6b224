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
  forceCloseHung: (names: string[]) => `Force-closing ${names.join(', ')} did not finish within 1 s`,
  finished: (ms: number, ok: boolean) => `Quit pipeline finished in ${ms} ms${ok ? '' : ' with problems (see the report)'}`,
  report: (json: string) => `Shutdown report: ${json}`,
  deadline: (ms: number) => `Shutdown did not finish within the ${ms} ms deadline; exiting now`,
  secondSignal: (signal: string) => `Received ${signal} again while shutting down; exiting now`,
  nestHooksPending: () => 'nest: onModuleDestroy / beforeApplicationShutdown / onApplicationShutdown hooks still running',
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
  badWorkerName: (name: unknown) => `QuitService.trackWorker(): the name must be a non-empty string, got ${String(name)}.`,
  httpInternalsMissing: (field: string) =>
    `The HTTP drain could not find Node's ${field} (a Node version nestjs-quit was not checked against): it falls back to counting idleness from the start of the drain and to remembering each connection's latest response, which is slower and holds more memory.`,
  moduleNotFound: () =>
    'QuitModule could not find its own module in the container, so its hooks may not run before other modules\' onModuleDestroy. Import QuitModule.forRoot() once in the root module.',
} as const;

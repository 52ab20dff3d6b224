// nestjs-quit/testing: prove in your own e2e suite that your app shuts down without losing
// work. No test framework is imported here: the assertions stay yours.
export { runShutdown, describeEvent } from './shutdown.run.js';
export type { ChildAppOptions, NestAppOptions, ShutdownRunOptions, ShutdownResult } from './shutdown.run.js';
export type { ChildExit } from './child-app.js';
export { httpLoad, type HttpLoadOptions } from './http.load.js';
export { grpcLoad, workLoad, type GrpcLoadOptions, type WorkLoadOptions } from './work.load.js';
export { wsLoad, type WsLoadOptions } from './ws.load.js';
export type { LoadTarget, ShutdownLoad, StopFlag } from './load.js';
export { startLoad, type LoadsFigures, type RunningLoad } from './load.runner.js';
export type { LoadFigures, Outcome } from './tally.js';
export { Tally } from './tally.js';
export { freePort } from './free-port.js';
export { QUIT_TESTING_ENV, QUIT_TESTING_MARK } from './wire.js';

import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { QuitEvent } from '../interfaces/quit-event.interface.js';
import type { QuitReport } from '../interfaces/quit-report.interface.js';
import { errorMessage } from '../errors/error-message.js';
import { QuitService } from '../quit.service.js';
import { ChildApp, type ChildExit } from './child-app.js';
import { freePort, untilListening } from './free-port.js';
import { sleep } from '../pipeline/timing.js';
import type { ShutdownLoad } from './load.js';
import { startLoad, type LoadsFigures } from './load.runner.js';
import type { LoadFigures } from './tally.js';

/** Your app's compiled entry, run in a child process so that a real signal reaches it. */
export interface ChildAppOptions {
  /** The file Node runs, e.g. `dist/main.js`. */
  main: string;
  args?: string[];
  /** Node's own flags, e.g. `['--enable-source-maps']`. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /**
   * Variables that each get a free loopback port; your `main` listens on them
   * (`app.listen(process.env.PORT)`). The run starts once every one accepts connections.
   * @default ['PORT']
   */
  ports?: string[];
  /** @default 20000 */
  startTimeoutMs?: number;
}

/** An app in this process, closed with `app.close()` at the "signal". */
export interface NestAppOptions {
  /** Created and initialised; the kit calls `listen(0, '127.0.0.1')` if it is not listening yet. */
  nest: INestApplication;
}

export interface ShutdownRunOptions {
  app: ChildAppOptions | NestAppOptions;
  /** What to put the app under: `httpLoad()`, `grpcLoad()`, `wsLoad()`, `workLoad()`, or several. */
  load: ShutdownLoad | ShutdownLoad[];
  /** The signal sent to a child app. @default 'SIGTERM' */
  signal?: NodeJS.Signals;
  /** The signal goes at least this long after the load started… @default 500 */
  signalAfterMs?: number;
  /** …and once at least this many units of work are in flight (waited for at most 10 s more). @default 1 */
  inFlight?: number;
  /**
   * Decides the moment of the signal instead of `signalAfterMs` / `inFlight`: called every
   * few milliseconds once the load runs, the signal goes when it returns true (or 10 s
   * after `signalAfterMs` in any case). `output` is the child's output so far.
   */
  signalWhen?: (state: { elapsedMs: number; inFlight: number; output: readonly string[] }) => boolean;
  /** How long the app may take from the signal to its exit (or `close()`) before it is killed. @default 30000 */
  exitTimeoutMs?: number;
}

/** Everything a shutdown under load did, for your own assertions. */
export interface ShutdownResult extends LoadFigures {
  /** The figures of each load, by its name. */
  loads: Record<string, LoadFigures>;
  /** How the child process ended (child apps only). */
  exit?: ChildExit;
  /** From the signal to the process's exit (child), or to `app.close()` resolving (in-process). */
  exitMs: number;
  /** False when the app did not exit (or close) within `exitTimeoutMs`. */
  exitedInTime: boolean;
  /** The module's report of the shutdown (undefined if it never ended, or the app does not use nestjs-quit). */
  report?: QuitReport;
  /** The shutdown's events in order, e.g. `phase.started transports`, `intake-stopped http:3000`, `hook.ended Pool.close`. */
  events: string[];
  /** The ports given to a child app, by variable. */
  ports: Record<string, number>;
  /** The child's output lines (stdout and stderr; the kit's own lines left out). */
  output: string[];
}

const isChild = (app: ShutdownRunOptions['app']): app is ChildAppOptions => typeof (app as ChildAppOptions).main === 'string';

/**
 * Starts the app, puts it under the load, signals it mid-load (or closes it), waits for
 * its exit, and returns one result. Bounded: the loops stop by themselves, the child is
 * always killed at the end, ports are free loopback ports.
 * @throws when an in-process app's `close()` rejects: `runShutdown(): app.close() rejected: …`
 *   (the error as `cause`), once the load has stopped.
 */
export async function runShutdown(options: ShutdownRunOptions): Promise<ShutdownResult> {
  const loads = Array.isArray(options.load) ? options.load : [options.load];
  if (!loads.length || loads.some((l) => typeof l?.run !== 'function')) {
    throw new TypeError('runShutdown(): option "load" must be a load (httpLoad(), grpcLoad(), wsLoad(), workLoad()) or an array of them');
  }
  if (!options.app || (!isChild(options.app) && typeof (options.app as NestAppOptions).nest?.close !== 'function')) {
    throw new TypeError('runShutdown(): option "app" must be { main: "dist/main.js", … } or { nest: app }');
  }
  if (options.signal !== undefined && !/^SIG[A-Z0-9]+$/.test(String(options.signal))) {
    throw new TypeError(`runShutdown(): option "signal" must be a signal name like 'SIGTERM', got ${String(options.signal)}`);
  }
  const names = new Set<string>();
  for (const load of loads) {
    if (names.has(load.name)) throw new TypeError(`runShutdown(): two loads are named "${load.name}": give them a "name"`);
    names.add(load.name);
  }
  return isChild(options.app) ? runChild(options.app, loads, options) : runInProcess(options.app.nest, loads, options);
}

async function runChild(app: ChildAppOptions, loads: ShutdownLoad[], options: ShutdownRunOptions): Promise<ShutdownResult> {
  const portNames = app.ports ?? ['PORT'];
  const ports: Record<string, number> = {};
  for (const name of portNames) ports[name] = await freePort();
  const env = { ...app.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  const child = new ChildApp(app.main, app.args ?? [], app.nodeArgs ?? [], env, app.cwd);
  try {
    try {
      await Promise.all(Object.values(ports).map((port) => untilListening(port, app.startTimeoutMs ?? 20_000, child.exited)));
    } catch (error) {
      child.kill();
      await child.exited;
      throw new Error(`runShutdown(): ${errorMessage(error)}; its output:\n${child.output.join('\n')}`);
    }
    const portOf = (load: ShutdownLoad) => {
      if (typeof load.port === 'number') return load.port;
      const name = load.port ?? portNames[0];
      if (!(name in ports)) throw new TypeError(`runShutdown(): load "${load.name}" targets port "${name}", which is not in app.ports (${portNames.join(', ')})`);
      return ports[name];
    };
    const run = await underLoad(loads, portOf, options, () => !child.running, () => child.signal(options.signal ?? 'SIGTERM'), () => child.exited, () => child.output);
    // Killed only if it did not exit by itself in time (a no-op once it has).
    child.kill();
    const exit = await child.exited;
    return { ...run.figures, exit, exitMs: run.exitMs, exitedInTime: run.closed, report: child.report, events: child.events.map(describeEvent), ports, output: child.output };
  } finally {
    child.kill();
  }
}

async function runInProcess(nest: INestApplication, loads: ShutdownLoad[], options: ShutdownRunOptions): Promise<ShutdownResult> {
  const server = nest.getHttpServer() as { listening?: boolean; address(): AddressInfo | string | null };
  if (!server.listening) await nest.listen(0, '127.0.0.1');
  const port = (server.address() as AddressInfo).port;
  const events: QuitEvent[] = [];
  const quit = quitServiceOf(nest);
  const subscription = quit?.events$.subscribe((e) => events.push(e));
  let closed = false;
  try {
    const run = await underLoad(
      loads,
      (load) => (typeof load.port === 'number' ? load.port : port),
      options,
      () => closed,
      () => undefined,
      () =>
        nest.close().then(
          () => void (closed = true),
          (error: unknown) => {
            closed = true;
            throw new Error(`runShutdown(): app.close() rejected: ${errorMessage(error)}`, { cause: error });
          },
        ),
    );
    return { ...run.figures, exitMs: run.exitMs, exitedInTime: run.closed, report: quit?.report, events: events.map(describeEvent), ports: { PORT: port }, output: [] };
  } finally {
    subscription?.unsubscribe();
  }
}

/**
 * The app's QuitService, or undefined for an app without nestjs-quit (the figures still
 * say what happened). Looked up in the modules, not with `get()`: a `get()` that finds
 * nothing makes Nest exit the process (its default `abortOnError`).
 */
function quitServiceOf(nest: INestApplication): QuitService | undefined {
  const modules = nest.get(ModulesContainer, { strict: false });
  for (const moduleRef of modules.values()) {
    const instance = moduleRef.providers.get(QuitService)?.instance;
    if (instance instanceof QuitService) return instance;
  }
  return undefined;
}

/** Runs the loads, signals once they are under way, waits for the end; the figures. */
async function underLoad(
  loads: ShutdownLoad[],
  portOf: (load: ShutdownLoad) => number,
  options: ShutdownRunOptions,
  gone: () => boolean,
  signal: () => void,
  ended: () => Promise<unknown>,
  output: () => readonly string[] = () => [],
): Promise<{ figures: LoadsFigures; exitMs: number; closed: boolean }> {
  const load = startLoad(loads, { port: portOf });
  const startedAt = Date.now();
  const after = options.signalAfterMs ?? 500;
  const want = options.inFlight ?? 1;
  const ready = options.signalWhen
    ? (elapsedMs: number) => options.signalWhen!({ elapsedMs, inFlight: load.inFlight, output: output() })
    : (elapsedMs: number) => elapsedMs >= after && load.inFlight >= want;
  for (let elapsed = 0; !gone() && !ready(elapsed) && elapsed < after + 10_000; elapsed = Date.now() - startedAt) await sleep(2);

  load.markSignal();
  const signalledAt = performance.now();
  let endedAt = NaN;
  const end = Promise.resolve()
    .then(() => {
      signal();
      return ended();
    })
    .then(() => void (endedAt = performance.now()));
  const limit = options.exitTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let closed: boolean;
  let figures: LoadsFigures;
  try {
    closed = await Promise.race([end.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), limit)))]);
  } finally {
    // Also when the close rejects: no timer left behind, and the load loops stop now
    // rather than at their cap. The rejection then goes on to the caller.
    clearTimeout(timer);
    // No new work once the app is gone (or given up on); what is still open ends on its own
    // (its sockets are closed), bounded in any case.
    figures = await load.stop();
  }
  return { figures, exitMs: Math.round((endedAt - signalledAt) * 10) / 10, closed };
}

/** One shutdown event as one short line. */
export function describeEvent(e: QuitEvent): string {
  switch (e.type) {
    case 'quit.started':
      return `quit.started ${e.signal ?? e.reason ?? e.trigger}`;
    case 'phase.started':
      return `phase.started ${e.phase}`;
    case 'phase.ended':
      return `phase.ended ${e.phase}${e.timedOut ? ' timed out' : ''}`;
    case 'transport.intake-stopped':
      return `intake-stopped ${e.name}`;
    case 'transport.drained':
      return `drained ${e.name}${e.forced ? ' forced' : ''}`;
    case 'hook.started':
      return `hook.started ${e.name}`;
    case 'hook.ended':
      return `hook.ended ${e.name}${e.timedOut ? ' timed out' : e.error !== undefined ? ' failed' : ''}`;
    case 'worker.skipped':
      return `worker.skipped ${e.name}`;
    case 'quit.deadline':
      return `quit.deadline ${e.phase}`;
    case 'quit.ended':
      return `quit.ended ${e.report.ok ? 'ok' : 'not ok'}`;
    default:
      return (e as { type: string }).type;
  }
}

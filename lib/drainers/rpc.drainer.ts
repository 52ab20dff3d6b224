import type { LoggerService } from '@nestjs/common';
import type { TransportKind } from '../interfaces/quit-options.interface.js';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { settleWithin } from '../pipeline/timing.js';
import { InFlight } from './rpc-inflight.js';
import type { RpcIntake } from './rpc-intake.js';
import { tapHandlers, type RpcStrategy } from '../internals/nest-microservices.js';

/**
 * How long a broker gets to confirm that intake stopped. One that is away (its client
 * reconnecting, commands queued offline) must not hold up the drain of the others:
 * what it still delivers is counted and awaited like the rest.
 */
const INTAKE_CONFIRM_MS = 1_000;

/**
 * Drains any Nest microservice server strategy — the built-in broker transports and
 * custom ones alike — with one mechanism: every message handler the strategy runs is
 * counted from start to reply (see `tapHandlers`), so the drain waits exactly for the
 * handlers in flight. Intake stops with the transport's own API where there is one
 * (`intakes`); a transport without one keeps delivering, and what it delivers is
 * counted and awaited too. At the phase timeout the strategy is closed, which cuts off
 * what is still running; the report says how many handlers that was. On a Nest with
 * neither seam the handlers cannot be counted: the finder warns at discovery, and the
 * drain does not wait for them.
 */
export class RpcDrainer implements TransportDrainer {
  protected readonly handlers = new InFlight();
  /**
   * Whether the handlers in flight are counted (`tapHandlers` found a seam). When not, the
   * finder warns at discovery and `pending()` says so: the drain cannot wait for them.
   */
  readonly counting: boolean;
  /** Whether the broker did not confirm the intake stop within `INTAKE_CONFIRM_MS`. */
  protected intakeNotConfirmed = false;
  private readonly warned = new Set<string>();
  private log?: LoggerService;
  private unsaid: string[] = [];

  constructor(
    protected readonly strategy: RpcStrategy,
    readonly transport: TransportKind,
    private readonly closeNow: () => Promise<unknown>,
    private readonly intake?: RpcIntake,
    private readonly label: string = transport,
  ) {
    this.counting = tapHandlers(strategy, (context) => this.onHandler(context));
  }

  get name(): string {
    return this.label;
  }

  stopIntake(): void | Promise<void> {
    if (this.intake) return this.stopBrokerIntake(() => this.intake!(this.strategy, (m) => this.warn(m)));
  }

  /** Where a step that could not be taken is said (the module's logger); what was found before it was set is said then. */
  get logger(): LoggerService | undefined {
    return this.log;
  }
  set logger(logger: LoggerService | undefined) {
    this.log = logger;
    for (const message of this.unsaid.splice(0)) logger?.warn(message);
  }

  /** Says once, through the module's logger, that a drain step could not be taken. */
  protected warn(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    const line = `${this.name}: ${message}`;
    if (this.log) this.log.warn(line);
    else this.unsaid.push(line);
  }

  /** Runs a broker's intake stop, waiting for its confirmation at most `INTAKE_CONFIRM_MS`. */
  protected async stopBrokerIntake(stop: () => void | Promise<void>): Promise<void> {
    const stopping = Promise.resolve().then(stop);
    if (await settleWithin(stopping, INTAKE_CONFIRM_MS)) return stopping.then(() => undefined);
    this.intakeNotConfirmed = true;
    stopping.catch(() => undefined); // too late to matter: the drain is under way
  }

  async drain(): Promise<void> {
    if (this.counting) await this.handlers.idle();
  }

  async forceClose(): Promise<void> {
    await this.closeNow();
  }

  pending(): string[] {
    return [`${this.name}: ${this.inFlight('message')}${this.intakeNotConfirmed ? ', intake stop not confirmed' : ''}`];
  }

  /** `3 message(s) in flight`, or that they are not counted. */
  protected inFlight(unit: string): string {
    return this.counting ? `${this.handlers.size} ${unit}(s) in flight` : `${unit}s in flight not counted`;
  }

  /** A handler starts; returns its end. */
  protected onHandler(_context: unknown): () => void {
    return this.handlers.start();
  }
}

/**
 * Takes over the strategy's `close()`, and returns Nest's own close, run once.
 *
 * A standalone `NestMicroservice#close()` closes its server first and only then runs
 * the lifecycle hooks, so a direct `app.close()` would cut off every call in flight
 * before the drain could start: `close()` now runs the quit pipeline first (a signal's
 * shutdown, which closes the server last, finds the pipeline over). The forced close
 * at the phase timeout and Nest's own later `close()` share one call, since a second
 * `quit()` on a closed Redis client rejects, and Nest turns a rejection during shutdown
 * into `process.exit(1)`.
 */
export function takeOverClose(strategy: RpcStrategy, beginQuit?: () => Promise<unknown>): () => Promise<unknown> {
  const nestClose = strategy.close.bind(strategy);
  let closing: Promise<unknown> | undefined;
  const closeNow = () => (closing ??= Promise.resolve().then(nestClose));
  strategy.close = async () => {
    await beginQuit?.();
    return closeNow();
  };
  return closeNow;
}

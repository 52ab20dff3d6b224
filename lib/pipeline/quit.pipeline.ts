import type { LoggerService } from '@nestjs/common';
import type { QuitHook } from '../hooks/hook.registry.js';
import { HookRegistry } from '../hooks/hook.registry.js';
import type { QuitEvent, QuitPhase } from '../interfaces/quit-event.interface.js';
import type { QuitFailure, QuitPhaseReport, QuitReport, QuitTrigger } from '../interfaces/quit-report.interface.js';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import type { ResolvedQuitOptions } from '../quit.options.js';
import { errorMessage, errorStack } from '../errors/error-message.js';
import { QuitTimeoutError } from '../errors/quit-timeout.error.js';
import { QuitMessages } from '../quit.messages.js';
import type { WorkerSource } from '../workers/worker-source.interface.js';
import { WorkerTracker } from '../workers/worker.tracker.js';
import { safeLog } from './safe-log.js';
import { now, round, settleWithin, sleep } from './timing.js';

export interface PipelineInput {
  options: ResolvedQuitOptions;
  trigger: QuitTrigger;
  signal?: string;
  reason?: string;
  /** Monotonic milliseconds (`performance.now()`) by which everything must be over: the coordinator's one deadline. */
  deadlineAt: number;
  drainers: TransportDrainer[];
  /** Schedulers and queue workers: stopped inside the fire step, their closing waited for in the workers phase. */
  sources: WorkerSource[];
  workers: WorkerTracker;
  hooks: HookRegistry;
  /** The "fire" step: flips the quit event (isQuitting, the abort signal, readiness). */
  fire(): void;
  emit(event: QuitEvent): void;
  skippedWorkerRuns(): number;
  logger?: LoggerService;
}

interface PhaseOutcome {
  timedOut: boolean;
  /**
   * The phase used up its whole budget. Decided by the waits themselves, not by reading
   * the clock afterwards: a timer may fire a fraction of a millisecond before the clock
   * says the budget is over, and the outcome must not hang on that fraction.
   */
  exhausted?: boolean;
  pending: string[];
}

/**
 * Runs one shutdown: fire (and stop the worker sources) → readiness delay → drain
 * transports → drain workers → quit hooks, strictly in order, each phase within its own
 * timeout and all within the coordinator's deadline. It never throws: what goes wrong is
 * recorded and the next phase still runs. It knows nothing of the process: the
 * `QuitCoordinator` decides how that ends.
 */
export class QuitPipeline {
  private startedAt = Date.now();
  private start = now();
  private readonly deadline: number;
  /** The phase last ended, for an error recorded between phases. */
  private lastPhase: QuitPhase = 'fire';
  private readonly phases: QuitPhaseReport[] = [];
  private readonly failures: QuitFailure[] = [];
  /** The phase running now, with what it still waits for: a forced exit reports it. */
  private current?: { phase: QuitPhase; begin: number; pending: () => string[] };
  /** Set while the transports phase still waits for its drains: takes a drainer registered meanwhile. */
  private lateDrainer?: (drainer: TransportDrainer) => void;
  /**
   * Where the transports phase is for a drainer registered now: `before` it reads the
   * drainer list, `open` while it still waits for its drains, `over` after that.
   */
  transports: 'before' | 'open' | 'over' = 'before';

  constructor(private readonly input: PipelineInput) {
    this.deadline = input.deadlineAt;
  }

  async run(): Promise<QuitReport> {
    const { options } = this.input;
    // Durations count from the run, which may start later than the shutdown (after initialisation).
    this.startedAt = Date.now();
    this.start = now();
    this.input.emit({
      type: 'quit.started',
      trigger: this.input.trigger,
      signal: this.input.signal,
      reason: this.input.reason,
      at: this.startedAt,
    });
    await this.phase('fire', Infinity, async () => {
      this.input.fire();
      this.stopSources();
      return none;
    });
    await this.phase('readiness', options.readinessDelayMs, async (budget) => {
      await sleep(Math.min(options.readinessDelayMs, budget));
      const cut = budget < options.readinessDelayMs;
      return { timedOut: cut, exhausted: cut, pending: [] };
    });
    await this.phase('transports', options.phaseTimeouts.transports, (budget) => this.drainTransports(budget));
    await this.phase('workers', options.phaseTimeouts.workers, async (budget) => {
      this.livePending(() => this.input.workers.pending());
      const inTime = await settleWithin(this.input.workers.idle(), budget);
      const pending = inTime ? [] : this.input.workers.pending();
      this.input.workers.close();
      return { timedOut: !inTime, exhausted: !inTime, pending };
    });
    await this.phase('hooks', options.phaseTimeouts.hooks, (budget) => this.runHooks(budget));
    return this.report();
  }

  /**
   * A drainer registered once the shutdown has begun (`quit.onQuit(server)`): drained in
   * the transports phase if that phase is still waiting for its drains (its intake stops
   * now, the phase waits for it and force-closes it at its timeout). False when the phase
   * is not waiting: not started yet (`transports` is `before`: the drainer list is read
   * when it starts) or over.
   */
  joinTransports(drainer: TransportDrainer): boolean {
    if (this.transports !== 'open' || !this.lateDrainer) return false;
    this.lateDrainer(drainer);
    return true;
  }

  /**
   * Records a failure that did not come from a step (an uncaught error meanwhile),
   * against the phase running now, or the last one.
   */
  recordFailure(source: string, message: string, error?: unknown): void {
    this.fail(this.current?.phase ?? this.lastPhase, source, message, error, false);
  }

  /**
   * A report as of now; `cut` marks one the process is about to exit on: forced (the
   * deadline, a second signal), or `process.exit(code)` called by code.
   */
  report(cut?: NonNullable<QuitReport['forced']> | { processExitCode: number }): QuitReport {
    const forced = typeof cut === 'string' ? cut : undefined;
    const phases = [...this.phases];
    if (cut !== undefined && this.current) {
      const { phase, begin } = this.current;
      const cut = { phase, startedAtMs: round(begin - this.start), durationMs: round(now() - begin), timedOut: true };
      phases.push({ ...cut, pending: this.current.pending() });
    }
    const pending = phases.flatMap((p) => p.pending.map((item) => `${p.phase}: ${item}`));
    return {
      trigger: this.input.trigger,
      signal: this.input.signal,
      reason: this.input.reason,
      startedAt: this.startedAt,
      durationMs: round(now() - this.start),
      phases: phases.map((p) => ({ ...p, pending: [...p.pending] })),
      pending,
      failures: [...this.failures],
      skippedWorkerRuns: this.input.skippedWorkerRuns(),
      forced,
      ...(typeof cut === 'object' ? { processExitCode: cut.processExitCode } : {}),
      ok: cut === undefined && this.failures.length === 0 && this.phases.every((p) => !p.timedOut),
    };
  }

  private async phase(phase: QuitPhase, timeoutMs: number, body: (budgetMs: number) => Promise<PhaseOutcome>) {
    const begin = now();
    const budget = Math.max(0, Math.min(timeoutMs, this.deadline - begin));
    this.current = { phase, begin, pending: () => [] };
    this.input.emit({ type: 'phase.started', phase, at: Date.now() });
    let outcome: PhaseOutcome;
    try {
      outcome = await body(budget);
    } catch (error) {
      // A phase body only throws on a bug of ours; record it and go on.
      this.fail(phase, phase, QuitMessages.phaseFailed(phase), error);
      outcome = none;
    }
    if (outcome.exhausted && budget < timeoutMs) {
      // Cut by the overall deadline, not by the phase's own timeout. Said while the phase
      // is still the current one, so that a process that must exit now (see the exit
      // policy) reports this phase and what it still waited for.
      this.input.emit({ type: 'quit.deadline', at: Date.now(), phase });
    }
    this.current = undefined;
    this.lastPhase = phase;
    const durationMs = round(now() - begin);
    this.phases.push({ phase, startedAtMs: round(begin - this.start), durationMs, ...outcome });
    if (outcome.timedOut) safeLog(this.input.logger, 'warn', QuitMessages.phaseTimedOut(phase, round(budget), outcome.pending));
    this.input.emit({ type: 'phase.ended', phase, at: Date.now(), durationMs, ...outcome });
  }

  /**
   * Synchronous, right after the fire: no scheduler tick or queue fetch may start once
   * `isQuitting` is true. Their closing (a queue worker's active jobs acknowledged) is
   * counted as tracked work, which the workers phase waits for.
   */
  private stopSources(): void {
    for (const source of this.input.sources) {
      let closing: Promise<unknown> | void;
      try {
        closing = source.stopIntake();
      } catch (error) {
        this.fail('fire', source.name, QuitMessages.workerSourceFailed(source.name), error);
        continue;
      }
      if (!closing) continue;
      const settled = Promise.resolve(closing).then(
        () => undefined,
        (error) => this.fail('workers', source.name, QuitMessages.workerSourceFailed(source.name), error),
      );
      this.input.workers.track(settled, source.name);
    }
  }

  private async drainTransports(budget: number): Promise<PhaseOutcome> {
    const phaseEnd = now() + budget;
    const order = this.input.options.transportOrder;
    const rank = (d: TransportDrainer) => {
      const i = order.indexOf(d.transport);
      if (i >= 0) return i;
      const rpc = order.indexOf('rpc');
      return d.transport !== 'http' && rpc >= 0 ? rpc : order.length;
    };
    const drainers = [...this.input.drainers].sort((a, b) => rank(a) - rank(b));
    const stop = async (d: TransportDrainer) => {
      try {
        await d.stopIntake();
      } catch (error) {
        this.fail('transports', d.name, QuitMessages.drainFailed(d.name), error);
      }
      this.input.emit({ type: 'transport.intake-stopped', transport: d.transport, name: d.name, at: Date.now() });
    };
    const open = new Set<TransportDrainer>();
    const waits: Promise<void>[] = [];
    const wait = (d: TransportDrainer) => {
      open.add(d);
      waits.push(
        (async () => {
          let error: unknown;
          try {
            await d.drain();
          } catch (e) {
            error = e ?? new Error('drain rejected');
          }
          // Force-closed already at the phase timeout: reported as such, not a second time.
          if (!open.delete(d)) return;
          if (error !== undefined) this.fail('transports', d.name, QuitMessages.drainFailed(d.name), error);
          this.input.emit({ type: 'transport.drained', transport: d.transport, name: d.name, at: Date.now(), forced: false });
        })(),
      );
    };
    // One registered during the intake goes last in line; one registered later stops now and is waited for too.
    let waiting = false;
    this.lateDrainer = (d) => (waiting ? waits.push(stop(d).then(() => wait(d))) : drainers.push(d));
    this.transports = 'open';
    const close = () => {
      this.lateDrainer = undefined;
      this.transports = 'over';
    };
    // Intake stops one transport after the other, in the declared order...
    for (const d of drainers) await stop(d);
    // ...but the work in flight is awaited together, so the phase lasts as long as
    // the slowest request or call, not the sum of them.
    waiting = true;
    this.livePending(() => [...open].flatMap((d) => d.pending()));
    drainers.forEach(wait);
    const drained = (async () => {
      for (let seen = 0; seen < waits.length; ) {
        const upTo = waits.length;
        await Promise.all(waits.slice(seen, upTo));
        seen = upTo;
      }
      // In the same turn as the last check: no drainer can join unwaited.
      close();
    })();
    // Stopping intake (a broker's confirmation) counts against the phase too.
    const inTime = await settleWithin(drained, phaseEnd - now());
    close();
    if (inTime) return none;
    const left = [...open];
    open.clear();
    const pending = left.flatMap((d) => d.pending());
    // Together, and bounded too: a force-close that hangs (a broker's own close) must not
    // eat the time of the workers and the hooks, which close the pools.
    const forced = Promise.all(
      left.map(async (d) => {
        try {
          await d.forceClose();
        } catch (error) {
          this.fail('transports', d.name, QuitMessages.drainFailed(d.name), error);
        }
        this.input.emit({ type: 'transport.drained', transport: d.transport, name: d.name, at: Date.now(), forced: true });
      }),
    );
    if (!(await settleWithin(forced, FORCE_CLOSE_MS))) {
      this.fail('transports', 'transports', QuitMessages.forceCloseHung(left.map((d) => d.name)));
    }
    return { timedOut: true, exhausted: true, pending };
  }

  private async runHooks(budget: number): Promise<PhaseOutcome> {
    const phaseEnd = now() + budget;
    const pending: string[] = [];
    const hooks = this.input.hooks.ordered();
    let next = 0;
    /** A hook was cut by what was left of the phase (not by its own timeout): no time is left. */
    let exhausted = false;
    this.livePending(() => [...pending, ...hooks.slice(next).map((h) => h.name)]);
    for (const hook of hooks) {
      next++;
      const left = phaseEnd - now();
      if (exhausted || left <= 0) {
        exhausted = true;
        pending.push(hook.name);
        this.fail('hooks', hook.name, QuitMessages.hookNotRun(hook.name));
        continue;
      }
      const own = hook.timeoutMs ?? this.input.options.hookTimeoutMs;
      // Counted as pending while it runs, for a forced exit's report.
      pending.push(hook.name);
      if (await this.runHook(hook, Math.min(own, left))) pending.pop();
      else if (own >= left) exhausted = true;
    }
    return { timedOut: pending.length > 0, exhausted, pending };
  }

  /** Runs one hook; false when it timed out. A hook that throws never stops the next one. */
  private async runHook(hook: QuitHook, timeoutMs: number): Promise<boolean> {
    const abort = new AbortController();
    const begin = now();
    this.input.emit({ type: 'hook.started', name: hook.name, at: Date.now() });
    let error: unknown;
    const work = (async () => hook.run(abort.signal))().catch((e) => {
      error = e ?? new Error('rejected');
    });
    const settled = await settleWithin(work, timeoutMs);
    // A hook that blocked the event loop settles "in time" as far as the timer can tell
    // (the timer could not fire while it blocked): its own duration says it overran.
    const inTime = settled && now() - begin <= timeoutMs;
    if (!inTime) abort.abort(new QuitTimeoutError(`Quit hook ${hook.name}`, round(timeoutMs)));
    if (!inTime) this.fail('hooks', hook.name, QuitMessages.hookTimedOut(hook.name, round(timeoutMs)));
    else if (error !== undefined) this.fail('hooks', hook.name, QuitMessages.hookFailed(hook.name), error);
    this.input.emit({
      type: 'hook.ended',
      name: hook.name,
      at: Date.now(),
      durationMs: round(now() - begin),
      error: inTime ? error : undefined,
      timedOut: !inTime,
    });
    return inTime;
  }

  private livePending(pending: () => string[]): void {
    if (this.current) this.current.pending = pending;
  }

  private fail(phase: QuitPhase, source: string, message: string, error?: unknown, log = true) {
    const detail = error === undefined ? '' : `: ${errorMessage(error)}`;
    this.failures.push({ phase, source, message: `${message}${detail}`, error });
    if (log) safeLog(this.input.logger, 'error', `${message}${detail}`, errorStack(error));
  }
}

const none: PhaseOutcome = { timedOut: false, pending: [] };
/** How long force-closing the transports left at the phase timeout may take. */
const FORCE_CLOSE_MS = 1_000;

/**
 * What tests and fixture apps share to watch a shutdown through the public API: waits
 * that resolve on the module's own events (never on elapsed time), and one printer of
 * the events. No Jest import: the fixtures run in plain child processes.
 */
import type { QuitEvent, QuitPhase, QuitService } from '../../lib/index.js';

/** Polls `check` until it returns something truthy; rejects after `timeoutMs` naming `what`. */
export async function waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`waitFor: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// One promise per service: a listener per call would trip Node's MaxListeners warning.
const quitting = new WeakMap<QuitService, Promise<void>>();

/** Resolves once `quit` begins quitting: work held on it is in flight at the shutdown by construction. */
export function untilQuitting(quit: QuitService): Promise<void> {
  let p = quitting.get(quit);
  if (!p) {
    p = new Promise<void>((resolve) => (quit.isQuitting ? resolve() : quit.signal.addEventListener('abort', () => resolve(), { once: true })));
    quitting.set(quit, p);
  }
  return p;
}

/** Resolves with the first event (from now on) that passes `test`. */
export function untilEvent<E extends QuitEvent>(quit: QuitService, test: (e: QuitEvent) => e is E): Promise<E>;
export function untilEvent(quit: QuitService, test: (e: QuitEvent) => boolean): Promise<QuitEvent>;
export function untilEvent(quit: QuitService, test: (e: QuitEvent) => boolean): Promise<QuitEvent> {
  return new Promise((resolve) => {
    const sub = quit.events$.subscribe((e) => {
      if (!test(e)) return;
      queueMicrotask(() => sub.unsubscribe());
      resolve(e);
    });
  });
}

/** Resolves when `phase` starts. */
export const untilPhase = (quit: QuitService, phase: QuitPhase) => untilEvent(quit, (e) => e.type === 'phase.started' && e.phase === phase);

/**
 * One event as one short line, the form every test compares: `phase.started fire`,
 * `hook.ended Hooks@flush timedOut`, `report {"ok":true,...}`.
 */
export function describeEvent(e: QuitEvent): string {
  switch (e.type) {
    case 'quit.started':
      return `quit.started ${e.trigger}${e.signal ? ` ${e.signal}` : ''}`;
    case 'phase.started':
      return `phase.started ${e.phase}`;
    case 'phase.ended':
      return `phase.ended ${e.phase}${e.timedOut ? ' timedOut' : ''}`;
    case 'transport.intake-stopped':
      return `intake-stopped ${e.name}`;
    case 'transport.drained':
      return `drained ${e.name}${e.forced ? ' forced' : ''}`;
    case 'hook.started':
      return `hook.started ${e.name}`;
    case 'hook.ended':
      return `hook.ended ${e.name}${e.timedOut ? ' timedOut' : e.error ? ' failed' : ''}`;
    case 'worker.skipped':
      return `worker.skipped ${e.name}`;
    case 'quit.deadline':
      return `quit.deadline ${e.phase}`;
    case 'quit.ended':
    case 'quit.forced':
      return `${e.type === 'quit.ended' ? 'report' : 'forced'} ${JSON.stringify(summary(e.report))}`;
  }
}

/** The parts of a report a test compares exactly (durations aside). */
export function summary(report: { ok: boolean; pending: string[]; failures: Array<{ source: string }>; forced?: string; processExitCode?: number }) {
  return {
    ok: report.ok,
    pending: report.pending,
    failures: report.failures.map((f) => f.source),
    ...(report.forced ? { forced: report.forced } : {}),
    ...(report.processExitCode !== undefined ? { processExitCode: report.processExitCode } : {}),
  };
}

/** Collects every event of `quit` as described lines. */
export function recordEvents(quit: QuitService): string[] {
  const lines: string[] = [];
  quit.events$.subscribe((e) => lines.push(describeEvent(e)));
  return lines;
}

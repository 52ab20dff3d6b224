import type { ShutdownLoad } from './load.js';
import { sumFigures, Tally, type LoadFigures } from './tally.js';

/** The figures of several loads: summed, and each by its name. */
export type LoadsFigures = LoadFigures & { loads: Record<string, LoadFigures> };

/** Loads under way (`startLoad`). */
export interface RunningLoad {
  /** Units of work in flight now, over all loads. */
  readonly inFlight: number;
  /** Units answered successfully so far, over all loads. */
  readonly ok: number;
  /** Records what is in flight now as "in flight at the signal" (for `inFlightAtSignal` and `lost`). */
  markSignal(): void;
  /** No new unit starts; resolves with the figures once the loops have ended (at most `graceMs` later, default 5 s). */
  stop(graceMs?: number): Promise<LoadsFigures>;
}

/**
 * Starts loads against servers you run yourself (a restart choreography, several
 * replicas, a proxy in front): `runShutdown` is this plus starting and signalling one
 * app. `port` is where a load goes when it names none (or names a port variable).
 */
export function startLoad(
  load: ShutdownLoad | ShutdownLoad[],
  target: { host?: string; port: number | ((load: ShutdownLoad) => number); /** No unit starts after this. @default 120000 */ stopAfterMs?: number },
): RunningLoad {
  const loads = Array.isArray(load) ? load : [load];
  const stopFlag = { stopped: false };
  // Bounded even if nobody calls stop().
  const cap = setTimeout(() => (stopFlag.stopped = true), target.stopAfterMs ?? 120_000);
  cap.unref();
  const tallies = loads.map(() => new Tally());
  const host = target.host ?? '127.0.0.1';
  const portOf = (l: ShutdownLoad) => (typeof l.port === 'number' ? l.port : typeof target.port === 'function' ? target.port(l) : target.port);
  const running = Promise.all(
    loads.map((l, i) => l.run({ host, port: portOf(l) }, tallies[i], stopFlag).catch((error: unknown) => void tallies[i].begin()('error', `load "${l.name}" failed: ${String(error)}`))),
  );
  return {
    get inFlight() {
      return tallies.reduce((n, t) => n + t.inFlight, 0);
    },
    get ok() {
      return tallies.reduce((n, t) => n + t.ok, 0);
    },
    markSignal: () => tallies.forEach((t) => t.markSignal()),
    async stop(graceMs = 5_000) {
      stopFlag.stopped = true;
      clearTimeout(cap);
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise((resolve) => (bound = setTimeout(resolve, graceMs)))]);
      clearTimeout(bound);
      const perLoad = Object.fromEntries(loads.map((l, i) => [l.name, tallies[i].figures()]));
      return { ...sumFigures(Object.values(perLoad)), loads: perLoad };
    },
  };
}

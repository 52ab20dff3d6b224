import type { Tally } from './tally.js';

/** Where a load sends its work. */
export interface LoadTarget {
  host: string;
  port: number;
}

/** Tells the loops to stop starting new work (the run's time cap). */
export interface StopFlag {
  readonly stopped: boolean;
}

/**
 * A load to put the app under while it is signalled: `connections` loops, each sending
 * one unit of work after the other, that stop by themselves once the app refuses them
 * (it stopped listening, or exited) or once the run's time cap is reached.
 */
export interface ShutdownLoad {
  /** Its name in the result. */
  readonly name: string;
  /**
   * The port it targets: a number, or the name of a port variable of the child app
   * (`ports`); unset: the app's first port.
   */
  readonly port?: number | string;
  run(target: LoadTarget, tally: Tally, stop: StopFlag): Promise<void>;
}

/** A count option of a load (`connections`, `concurrency`, …): an integer from 1 to 10,000, or a TypeError naming the load and the option. */
export function countOption(load: string, option: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 10_000) {
    throw new TypeError(`${load}(): option "${option}" must be an integer from 1 to 10000, got ${String(value)}`);
  }
  return value as number;
}

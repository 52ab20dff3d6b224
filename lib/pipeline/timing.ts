/**
 * Waits for `work` at most `ms` milliseconds. Resolves `true` when it settled in time.
 * The timer is kept referenced on purpose: a shutdown waiting on a promise that no
 * handle keeps alive must still reach its timeout, not let the process fall out of
 * the event loop half-way through with exit code 0.
 */
export function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    // With no time left, work that has already settled still counts as in time: the
    // check waits for the next turn of the event loop, after every pending reaction.
    const timer = ms > 0 ? setTimeout(() => resolve(false), ms) : setImmediate(() => resolve(false));
    const settle = () => {
      if (ms > 0) clearTimeout(timer as NodeJS.Timeout);
      else clearImmediate(timer as NodeJS.Immediate);
      resolve(true);
    };
    work.then(settle, settle);
  });
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/** Monotonic milliseconds, for durations. */
export const now = (): number => performance.now();

export const round = (ms: number): number => Math.round(ms * 10) / 10;

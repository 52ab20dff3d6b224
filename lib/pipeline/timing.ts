/**
 * Waits for `work` at most `ms` milliseconds. Resolves `true` when it settled in time.
 * The timer is kept referenced on purpose: a shutdown waiting on a promise that no
 * handle keeps alive must still reach its timeout, not let the process fall out of
 * the event loop half-way through with exit code 0.
 */
export function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.race([work.then(() => true, () => true), Promise.resolve(false)]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settle = () => {
      clearTimeout(timer);
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

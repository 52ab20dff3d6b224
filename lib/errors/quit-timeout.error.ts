/** The reason given to work that a shutdown phase, or the overall deadline, cut off. */
export class QuitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not finish within ${timeoutMs} ms`);
    this.name = 'QuitTimeoutError';
  }
}

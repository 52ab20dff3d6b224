/** The abort reason a quit hook's signal carries when the hook's timeout cut it off. */
export class QuitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not finish within ${timeoutMs} ms`);
    this.name = 'QuitTimeoutError';
  }
}

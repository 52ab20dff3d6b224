/** A stop function. Its argument aborts at the hook's timeout. */
export type QuitFunction = (signal: AbortSignal) => unknown;

/** Anything with `close()`: a pool, a client, a file. */
export interface QuitCloser {
  close(): unknown;
}

/** Anything with `shutdown(signal)`. The signal aborts at the hook's timeout. */
export interface QuitShutdowner {
  shutdown(signal: AbortSignal): unknown;
}

export type QuitHandler = QuitFunction | QuitCloser | QuitShutdowner;

export interface OnQuitOptions {
  /** Name in logs and in the report. @default the function's or the class's name */
  name?: string;
  /**
   * Hooks run by ascending order; within one order, the last registered runs first,
   * so something registered after what it uses closes first.
   * @default 0
   */
  order?: number;
  /** Timeout of this hook. @default the module's `hookTimeoutMs` */
  timeoutMs?: number;
}

/** Removes a registered quit hook. */
export type Unregister = () => void;

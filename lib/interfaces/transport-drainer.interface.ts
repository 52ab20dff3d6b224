import type { TransportKind } from './quit-options.interface.js';

/**
 * Drains one server of one transport. The transport phase calls `stopIntake()` on every
 * drainer in `transportOrder`, then awaits every `drain()` together, then calls
 * `forceClose()` on those that did not finish by the phase timeout.
 */
export interface TransportDrainer {
  /** Its place in `transportOrder`. */
  readonly transport: TransportKind;
  /** Its name in events and in the report, e.g. `http:3000`. */
  readonly name: string;
  /** Stops taking new connections, requests or calls. Must return quickly. */
  stopIntake(): void | Promise<void>;
  /** Resolves when the work in flight is done. */
  drain(): Promise<void>;
  /** Ends what is still open at the phase timeout. */
  forceClose(): void | Promise<void>;
  /** What is still in flight, for the report (e.g. `http:3000: 3 requests`). */
  pending(): string[];
  /**
   * Takes off what the drainer attached to a server the app owns (its listeners, its
   * wrappers): called when the app unregisters that server (`quit.onQuit(server)`'s
   * returned function). Optional: a drainer that attaches nothing has none.
   */
  dispose?(): void;
}

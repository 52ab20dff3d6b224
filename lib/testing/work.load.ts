import { countOption, type LoadTarget, type ShutdownLoad } from './load.js';
import { errorOutcome, type Outcome } from './tally.js';

export interface WorkLoadOptions {
  /**
   * One unit of work: resolves when it was done, rejects when not. `loop` is the number
   * of the loop calling it; `target` the app's host and port.
   */
  unit: (loop: number, target: LoadTarget) => Promise<unknown>;
  /** How a failure counts; the default knows Node's network error codes. */
  classify?: (error: unknown) => Outcome;
  /** Loops running at once. @default 8 */
  concurrency?: number;
  /** A unit unsettled this long counts as a timeout (and the loop goes on). @default 15000 */
  unitTimeoutMs?: number;
  port?: number | string;
  name?: string;
}

/** Your own async function per unit of work (a client of your API, a queue producer…). */
export function workLoad(options: WorkLoadOptions): ShutdownLoad {
  if (typeof options?.unit !== 'function') throw new TypeError('workLoad(): option "unit" must be a function (loop, target) => Promise');
  const concurrency = countOption('workLoad', 'concurrency', options.concurrency ?? 8);
  const classify = options.classify ?? ((error: unknown) => errorOutcome(error)[0]);
  const timeoutMs = options.unitTimeoutMs ?? 15_000;
  return {
    name: options.name ?? 'work',
    port: options.port,
    async run(target, tally, stop) {
      const loop = async (i: number) => {
        while (!stop.stopped) {
          const end = tally.begin();
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve(end('timeout', 'TIMEOUT')), timeoutMs)));
          const work = options.unit(i, target).then(
            () => end('ok'),
            (error: unknown) => end(classify(error), detail(error)),
          );
          const outcome = await Promise.race([work, timedOut]);
          clearTimeout(timer);
          if (outcome === 'refused') break;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
    },
  };
}

function detail(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  return `${String(e?.code ?? 'error')}: ${String(e?.message ?? error)}`;
}

/** gRPC status codes (from the spec), so that this file needs no `@grpc/grpc-js`. */
const UNAVAILABLE = 14;
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;

export interface GrpcLoadOptions extends Omit<WorkLoadOptions, 'unit' | 'classify'> {
  /** One call with your own client, e.g. `(i) => promisify(client.getOrder.bind(client))({ id: i })`. */
  call: (loop: number, target: LoadTarget) => Promise<unknown>;
}

/**
 * gRPC calls made with your client: UNAVAILABLE counts as refused (the server turned the
 * call away, a client retries it elsewhere; if it was in flight at the signal it is
 * still counted lost), CANCELLED as a reset, DEADLINE_EXCEEDED as a timeout.
 */
export function grpcLoad(options: GrpcLoadOptions): ShutdownLoad {
  if (typeof options?.call !== 'function') throw new TypeError('grpcLoad(): option "call" must be a function (loop, target) => Promise');
  return workLoad({
    ...options,
    name: options.name ?? 'grpc',
    unit: options.call,
    classify: (error) => {
      const code = (error as { code?: unknown } | undefined)?.code;
      if (code === UNAVAILABLE) return 'refused';
      if (code === CANCELLED) return 'reset';
      if (code === DEADLINE_EXCEEDED) return 'timeout';
      return 'error';
    },
  });
}

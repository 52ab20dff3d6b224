import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { InFlight } from './rpc-inflight.js';
import { grpcPorts, grpcSessionCount, type GrpcJsServer } from '../internals/grpc-js.js';
import { grpcServerOf, tapHandlers, type RpcStrategy } from '../internals/nest-microservices.js';

/**
 * Drains a Nest gRPC server (`Transport.GRPC`, hybrid or standalone), whatever its
 * `gracefulShutdown` option says:
 *
 * - intake: grpc-js `tryShutdown()` closes the listening sockets and sends every client
 *   connection a GOAWAY, so new calls fail fast with UNAVAILABLE (clients retry
 *   elsewhere) while the calls already open go on;
 * - unary calls in flight complete; streaming handlers can watch `QuitService.signal`
 *   and complete their stream, which ends the call with OK;
 * - the drain is over when every connection has closed, i.e. every call has ended;
 * - at the phase timeout, `forceShutdown()` cancels what is still open, and the report
 *   names how many calls that was.
 *
 * Nest's own `close()` later (after `onModuleDestroy`) finds the server shut down and
 * returns at once, with `forceShutdown()` or with `tryShutdown()`.
 */
export class GrpcDrainer implements TransportDrainer {
  readonly transport = 'grpc' as const;
  private readonly calls = new InFlight();
  /**
   * Nest's handlers are counted: a call is in flight from its handler's start to its end.
   * False for an own server (nothing to count) and for a Nest strategy without the seam
   * (the finder warns; the report says the calls were not counted).
   */
  counting = false;
  /** A Nest strategy whose handlers could not be counted. */
  private uncounted = false;
  private server?: GrpcJsServer;
  private shutdown?: Promise<void>;
  private label = 'grpc';

  /** `source` gives the grpc-js server once it exists (Nest creates it in `listen()`). */
  constructor(private readonly source: () => GrpcJsServer | undefined) {}

  /** Drains the grpc-js server of a Nest gRPC strategy, counting its handlers. */
  static forStrategy(strategy: RpcStrategy): GrpcDrainer {
    const drainer = new GrpcDrainer(() => grpcServerOf(strategy));
    drainer.counting = tapHandlers(strategy, () => drainer.calls.start());
    drainer.uncounted = !drainer.counting;
    return drainer;
  }

  /**
   * Drains a grpc-js `Server` the app made itself (`quit.onQuit(server)`), the same way.
   * With no Nest strategy around it there is no handler to count: the drain is over when
   * `tryShutdown()` has seen every connection close, i.e. every call end, and the report
   * names the connections still open.
   */
  static forServer(server: GrpcJsServer): GrpcDrainer {
    return new GrpcDrainer(() => server);
  }

  get name(): string {
    return this.label;
  }

  stopIntake(): void {
    // Read now, not at discovery: Nest creates the grpc-js server in `listen()`.
    const server = this.source();
    if (!server) return;
    this.server = server;
    const ports = grpcPorts(server);
    if (ports.length) this.label = `grpc:${ports.join(',')}`;
    this.shutdown = new Promise((resolve) => server.tryShutdown(() => resolve()));
  }

  async drain(): Promise<void> {
    await this.shutdown;
    if (this.counting) await this.calls.idle();
  }

  forceClose(): void {
    this.server?.forceShutdown();
  }

  pending(): string[] {
    // An own server has no call count to give, only its connections.
    const parts: string[] = [];
    if (this.counting) parts.push(`${this.calls.size} call(s) in flight`);
    else if (this.uncounted) parts.push('calls in flight not counted');
    if (this.server) parts.push(`${grpcSessionCount(this.server)} connection(s) open`);
    return parts.length ? [`${this.name}: ${parts.join(', ')}`] : [];
  }
}

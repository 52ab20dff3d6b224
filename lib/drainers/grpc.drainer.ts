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
  /** Whether the calls in flight are counted (see `RpcDrainer#counting`). */
  readonly counting: boolean;
  private server?: GrpcJsServer;
  private shutdown?: Promise<void>;
  private label = 'grpc';

  constructor(private readonly strategy: RpcStrategy) {
    this.counting = tapHandlers(strategy, () => this.calls.start());
  }

  /**
   * Drains a grpc-js `Server` the app made itself (`quit.onQuit(server)`), the same way.
   * With no Nest strategy around it there is no handler to count: the drain is over when
   * `tryShutdown()` has seen every connection close, i.e. every call end.
   */
  static forServer(server: GrpcJsServer): GrpcDrainer {
    // `grpcClient` is where `grpcServerOf` finds the server of a Nest strategy.
    return new GrpcDrainer({ grpcClient: server, close: () => server.forceShutdown() } as RpcStrategy);
  }

  get name(): string {
    return this.label;
  }

  stopIntake(): void {
    // Read now, not at discovery: Nest creates the grpc-js server in `listen()`.
    const server = grpcServerOf(this.strategy);
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
    const parts = [this.counting ? `${this.calls.size} call(s) in flight` : 'calls in flight not counted'];
    if (this.server) parts.push(`${grpcSessionCount(this.server)} connection(s) open`);
    return [`${this.name}: ${parts.join(', ')}`];
  }
}

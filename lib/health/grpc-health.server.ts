import type { GrpcAddService, GrpcHealthCheckPackage, ServingStatus } from '../internals/grpc-health.js';

/** A Watch call, as grpc-js hands it to the handler. */
interface WatchCall {
  request: { service?: string };
  write(message: unknown): unknown;
  end(): unknown;
  on(event: 'cancelled', listener: () => void): unknown;
}

/**
 * The `grpc.health.v1.Health` service on one grpc-js server, served by
 * grpc-health-check's `HealthImplementation`: `""` (the whole server) and each of the
 * app's services answer SERVING until quitting begins, then NOT_SERVING.
 *
 * Watch streams are ended (with OK, right after they got NOT_SERVING) once quitting
 * began, and a Watch opened after that gets NOT_SERVING and ends at once: an open Watch
 * is a call in flight, and the drain waits for every call to end.
 */
export class GrpcHealthServer {
  private readonly health: InstanceType<GrpcHealthCheckPackage['HealthImplementation']>;
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watches = new Set<WatchCall>();
  private quitting = false;

  constructor(pkg: GrpcHealthCheckPackage, services: readonly string[]) {
    this.health = new pkg.HealthImplementation();
    this.statuses.set('', 'SERVING');
    for (const name of services) this.statuses.set(name, 'SERVING');
    for (const [name, status] of this.statuses) this.health.setStatus(name, status);
  }

  /**
   * Adds the service to a grpc-js server. grpc-js looks its handlers up per call, so this
   * works on a server that already listens. Throws grpc-js's "Method handler for
   * /grpc.health.v1.Health/Check already provided." when the app serves one itself.
   */
  addTo(server: GrpcAddService): void {
    this.health.addToServer({
      addService: (service, implementation) => {
        const watch = implementation.watch as (call: WatchCall) => void;
        server.addService(service, { ...implementation, watch: (call: WatchCall) => this.watch(call, watch) });
      },
    });
  }

  status(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Sets one service's status; ignored once quitting began (everything is NOT_SERVING then). */
  setStatus(service: string, status: ServingStatus): void {
    if (this.quitting) return;
    this.set(service, status);
  }

  /** Every service NOT_SERVING, every Watch told so and ended. Idempotent. */
  quit(): void {
    if (this.quitting) return;
    this.quitting = true;
    for (const name of this.statuses.keys()) this.set(name, 'NOT_SERVING');
    for (const call of this.watches) call.end();
    this.watches.clear();
  }

  private set(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    this.health.setStatus(service, status);
  }

  private watch(call: WatchCall, serve: (call: WatchCall) => void): void {
    serve(call); // writes the current status
    if (this.quitting) {
      call.end();
      return;
    }
    this.watches.add(call);
    call.on('cancelled', () => this.watches.delete(call));
  }
}

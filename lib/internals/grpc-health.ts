/**
 * The reaches of the gRPC health service past public APIs. Read from grpc-health-check
 * 2.1.0 (`build/src/health.js`), @grpc/grpc-js 1.14.7 (`src/server.ts`) and
 * @nestjs/microservices 12.1.1 and 11.2.6 (`server/server-grpc.js`). Each one is
 * feature-probed: a moved field costs the per-service statuses or the health service,
 * with a warning, never a startup or a shutdown.
 *
 * grpc-health-check and @grpc/grpc-js are optional peers: nothing here imports them
 * statically, not even their types.
 */
import { nestTransportOf, type RpcStrategy } from './nest-microservices.js';

// The gRPC server of a Nest strategy is read where every other Nest microservices reach is.
export { grpcServerOf, onRpcTargets, type RpcStrategy } from './nest-microservices.js';

/** The fully qualified name of the standard health service. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** What the module uses of grpc-health-check's exports. */
export interface GrpcHealthCheckPackage {
  /** The service definition grpc-js takes in `addService` (from the package's own proto). */
  service: object;
  HealthImplementation: new (initial?: Record<string, string>) => {
    setStatus(service: string, status: string): void;
    addToServer(server: { addService(service: object, implementation: Record<string, Function>): void }): void;
  };
}

/** What the health service uses of a grpc-js `Server`: only its public `addService`. */
export interface GrpcAddService {
  addService(service: object, implementation: Record<string, Function>): void;
}

let loaded: Promise<GrpcHealthCheckPackage> | undefined;

/**
 * Loads grpc-health-check once per process. Rejects when it is not installed or does not
 * export what version 2 exports.
 */
export function loadGrpcHealthCheck(): Promise<GrpcHealthCheckPackage> {
  loaded ??= import('grpc-health-check' as string).then((m: Record<string, unknown>) => {
    // The package is CommonJS: ESM sees its exports on `default` as well as by name.
    const pkg = (m.HealthImplementation ? m : (m.default as Record<string, unknown>)) ?? {};
    if (typeof pkg.HealthImplementation !== 'function' || typeof pkg.service !== 'object' || pkg.service === null) {
      throw new Error('grpc-health-check has no HealthImplementation or service export (version 2 has both)');
    }
    return pkg as unknown as GrpcHealthCheckPackage;
  });
  return loaded;
}

/** Whether a strategy is Nest's gRPC server (`ServerGrpc`). */
export function isGrpcStrategy(target: unknown): target is RpcStrategy {
  return typeof target === 'object' && target !== null && nestTransportOf(target as RpcStrategy) === 'grpc';
}

/**
 * The services a grpc-js server serves, from its private `handlers` map (keys are method
 * paths, `/package.Service/Method`). `undefined` when the map is not there.
 */
export function grpcServiceNames(server: unknown): string[] | undefined {
  const handlers = (server as { handlers?: Map<string, unknown> }).handlers;
  if (!(handlers instanceof Map)) return undefined;
  const names = new Set<string>();
  for (const path of handlers.keys()) {
    const name = typeof path === 'string' ? path.split('/')[1] : undefined;
    if (name && name !== HEALTH_SERVICE) names.add(name);
  }
  return [...names];
}

/**
 * Calls `then` once the strategy's `listen()` has succeeded, i.e. once Nest has created
 * the grpc-js server and added the app's services to it: `ServerGrpc#listen` calls its
 * callback only after `bindEvents()`, with no error. Wraps `listen` on the instance
 * (NestMicroservice calls `serverInstance.listen(callback)`), so it must be called
 * before the server listens; returns false when there is no `listen` to wrap.
 */
export function afterListen(strategy: RpcStrategy, then: () => void): boolean {
  const target = strategy as unknown as { listen?: (callback: (error?: unknown, ...rest: unknown[]) => void) => unknown };
  const original = target.listen;
  if (typeof original !== 'function') return false;
  target.listen = function (this: unknown, callback) {
    return original.call(this, (error?: unknown, ...rest: unknown[]) => {
      if (!error) then();
      return callback?.(error, ...rest);
    });
  };
  return true;
}

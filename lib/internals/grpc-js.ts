/**
 * Every reach past the public API of `@grpc/grpc-js`, read in 1.14.7 (`src/server.ts`).
 * Each one is probed: a field that moved gives "unknown" (an empty list, 0), never a
 * throw, so it costs a label or a count in the report, never the shutdown.
 *
 * Structural types only: `@grpc/grpc-js` is an optional peer and is not imported here.
 */

/** What the gRPC drainer uses of a grpc-js `Server` (public methods). */
export interface GrpcJsServer {
  tryShutdown(callback: (error?: Error) => void): void;
  forceShutdown(): void;
}

/** The ports a grpc-js server is bound to (its private `boundPorts`), for the drainer's name. */
export function grpcPorts(server: GrpcJsServer): number[] {
  const bound = (server as { boundPorts?: Map<string, { portNumber?: number }> }).boundPorts;
  return bound instanceof Map ? [...bound.values()].map((p) => p.portNumber ?? 0).filter((p) => p > 0) : [];
}

/** How many HTTP/2 sessions (client connections) a grpc-js server has open (its private `sessions`). */
export function grpcSessionCount(server: GrpcJsServer): number {
  const sessions = (server as { sessions?: Map<unknown, unknown> }).sessions;
  return sessions instanceof Map ? sessions.size : 0;
}

/**
 * What lib/internals/contract.ts must report on each set of installed versions: the
 * reaches in the order it checks them, and, per version, the ones that are genuinely not
 * there (each with the fallback the module takes instead). Used by
 * test/internals.contract.spec.ts (the repo's own install) and test/consumers.e2e-spec.ts
 * (the consumer apps, Nest 11 and 12).
 */
import type { LibraryContract } from '../../lib/internals/contract.js';

export const NEST_CORE_REACHES = [
  'Module#metatype',
  'Module#distance',
  "@Module() 'imports' metadata",
  'InstanceWrapper#isAlias',
  'InstanceWrapper#isDependencyTreeStatic()',
  'NestContainer#applicationConfig.getIoAdapter()',
];

/** Taken by tapHandlers only where `Server#runWithProcessingHooks` is not there (Nest 11, 12.0). */
const SLOTS = 'Server#onProcessingStartHook/onProcessingEndHook slots';

const MICROSERVICES_REACHES = [
  'Server#runWithProcessingHooks',
  'ServerTCP#handleMessage',
  'ServerTCP#handleRequest',
  'Server#getHandlers()',
  'TcpContext#getSocketRef().netSocket',
  'tapHandlers: a TCP request starts and ends once',
  'tapHandlers: a TCP event starts and ends once',
  'tapTcpMessages: each frame read is seen',
  'ServerTCP#openSockets',
  'ClientTCP#socket.netSocket (among Module#providers)',
  'ServerTCP#isManuallyTerminated',
];
const GRPC_STRATEGY_REACHES = ['Transport.GRPC (ServerGrpc#transportId)', 'ServerGrpc#listen (afterListen)', 'ServerGrpc#grpcClient'];
const BROKER_STRATEGY_REACHES = ['ServerRMQ#channel', 'ServerRMQ#setupChannel', 'ServerNats#subscriptions'];

/** The reaches of @nestjs/microservices that are genuinely missing in some version, with what the contract sees. */
export const MICROSERVICES_GAPS = {
  /** Added in 12.1: before it, tapHandlers wraps the processing hook slots (and still sees every request and event). */
  runner: { reach: 'Server#runWithProcessingHooks', seen: 'absent: tapped through the processing hook slots' },
  /** Added in 12.1: before it, a request is told from an event by the raw frame's `id`. */
  handleRequest: { reach: 'ServerTCP#handleRequest', seen: 'absent: requests told apart by the raw frame id' },
  /** In 11.2 and 12.1, not in 11.1.4 nor 12.0.1: the TCP drain then cannot pause connections it was not told of. */
  openSockets: { reach: 'ServerTCP#openSockets', seen: 'open sockets seen: 0' },
} as const;

export const GRPC_JS_REACHES = ['Server#boundPorts', 'Server#handlers', 'Server#sessions'];

export const WEBSOCKETS_REACHES = ['WsAdapter#create', 'WsAdapter#bindMessageHandlers', 'IoAdapter#create', 'IoAdapter#bindMessageHandlers'];

const absentLibrary = (library: string): LibraryContract => ({ library, installed: false, found: [], missing: [] });

export interface ExpectedPeers {
  /** The @nestjs/microservices gaps of this version; undefined: the package is not installed. */
  microservices?: Array<keyof typeof MICROSERVICES_GAPS>;
  grpc: boolean;
  brokers: boolean;
  websockets: boolean;
}

/** The whole report `checkInternals()` must give where these peers (and these gaps) are installed. */
export function expectedContract(peers: ExpectedPeers): LibraryContract[] {
  const libraries: LibraryContract[] = [{ library: '@nestjs/core', installed: true, found: [...NEST_CORE_REACHES], missing: [] }];
  if (peers.microservices) {
    const gaps = peers.microservices.map((g) => MICROSERVICES_GAPS[g]);
    const gone = new Set<string>(gaps.map((g) => g.reach));
    const found = MICROSERVICES_REACHES.flatMap((reach) => (!gone.has(reach) ? [reach] : reach === MICROSERVICES_GAPS.runner.reach ? [SLOTS] : []));
    if (peers.grpc) found.push(...GRPC_STRATEGY_REACHES);
    if (peers.brokers) found.push(...BROKER_STRATEGY_REACHES);
    const absent = [...(peers.grpc ? [] : GRPC_STRATEGY_REACHES), ...(peers.brokers ? [] : BROKER_STRATEGY_REACHES)];
    // In check order: the order of MICROSERVICES_REACHES.
    const missing = MICROSERVICES_REACHES.flatMap((reach) => gaps.filter((g) => g.reach === reach).map((g) => ({ ...g })));
    libraries.push({ library: '@nestjs/microservices', installed: true, found, missing, ...(absent.length ? { absent } : {}) });
  } else libraries.push(absentLibrary('@nestjs/microservices'));
  libraries.push(peers.grpc ? { library: '@grpc/grpc-js', installed: true, found: [...GRPC_JS_REACHES], missing: [] } : absentLibrary('@grpc/grpc-js'));
  libraries.push(peers.websockets ? { library: '@nestjs/websockets', installed: true, found: [...WEBSOCKETS_REACHES], missing: [] } : absentLibrary('@nestjs/websockets'));
  return libraries;
}

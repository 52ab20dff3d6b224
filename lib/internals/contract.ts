/**
 * The contract of lib/internals/: which of the module's reaches into other libraries'
 * internals work on the versions installed next to it. Each check builds the real thing
 * (a Nest application context, a microservice strategy listening on loopback with a real
 * client, a grpc-js server, a WebSocket adapter) and calls the same function the module
 * calls, then looks at what it did: nothing here repeats a probe.
 *
 * Not in the public API (no `exports` entry): the repo's tests import it from lib/, the
 * consumer apps load the built file by its path inside the installed package
 * (test/consumers/app/contract.mjs). A library that is not installed is reported as
 * absent, its reaches unchecked; a check that throws counts as missing, with the error.
 *
 * Reaches that need a broker or a running driver are listed in `UNCHECKED` with the test
 * that covers them instead.
 */
import { Injectable, Module, Scope } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModulesContainer, NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server as NetServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../errors/error-message.js';
import { sleep } from '../pipeline/timing.js';
import { afterListen, grpcServiceNames, isGrpcStrategy } from './grpc-health.js';
import { grpcPorts, grpcSessionCount } from './grpc-js.js';
import { importersOf, moduleClass, modulesWhere, setHookDistance, wrapperInstance } from './nest-core.js';
import {
  grpcServerOf,
  handlerPatterns,
  markTcpClosing,
  natsSubscriptions,
  ownTcpClientSockets,
  rmqChannelWrapper,
  tapHandlers,
  tapRmqSetup,
  tapTcpMessages,
  tcpNetSocketOf,
  tcpOpenSockets,
  unwrapClient,
  type RpcStrategy,
} from './nest-microservices.js';
import { tapMessageHandlers, tapServerCreation, watchIoAdapter, type NestWsAdapter } from './nest-websockets.js';

/** What the contract found for one library. */
export interface LibraryContract {
  library: string;
  /** False: not installed next to the module (or a package a check needs is not); nothing was checked. */
  installed: boolean;
  /** The reaches that work here, in check order. */
  found: string[];
  /** The reaches that do not, each with what was seen. */
  missing: Array<{ reach: string; seen: string }>;
  /** Reaches into this library not checked because a package they need is not installed (a broker client). */
  absent?: string[];
}

/** Reaches that the contract does not check, and where they are covered. */
export const UNCHECKED: ReadonlyArray<{ library: string; reaches: string[]; why: string }> = [
  { library: 'amqp-connection-manager / amqplib', reaches: ['ChannelWrapper#_channel', 'Channel#consumers', 'ChannelWrapper#sendToQueue/publish'], why: 'need a RabbitMQ broker: test/transports.e2e-spec.ts' },
  { library: 'engine.io', reaches: ['Socket#transport.writable', 'Socket#writeBuffer'], why: 'need a polling client: test/gateways.e2e-spec.ts' },
  { library: '@nestjs/graphql', reaches: ['GraphQL driver#_subscriptionService.wss'], why: 'need a running Apollo driver: test/gateways.e2e-spec.ts' },
  { library: '@nestjs/websockets', reaches: ['WsAdapter#wsServersRegistry'], why: 'fallback read only when the adapter could not be watched' },
];

/** Whether a package is installed where the module is (its loading is the probe). */
async function load<T = Record<string, any>>(name: string): Promise<T | undefined> {
  try {
    const m = (await import(name)) as Record<string, unknown>;
    // A CommonJS package imported from ESM may show its exports on `default` only.
    const cjs = m.default;
    return (cjs && typeof cjs === 'object' ? { ...cjs, ...m } : m) as T;
  } catch {
    return undefined;
  }
}

const within = <T>(ms: number, what: string, promise: Promise<T>): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });

/** Polls `test` every 5 ms, at most `ms`. */
async function until(test: () => boolean, ms = 1000): Promise<boolean> {
  for (const stop = Date.now() + ms; !test() && Date.now() < stop; ) await sleep(5);
  return test();
}

class Recorder {
  readonly result: LibraryContract;
  constructor(library: string, installed = true) {
    this.result = { library, installed, found: [], missing: [] };
  }
  /** Records `reach` as found when `seen` is true, else missing with `detail`. */
  check(reach: string, seen: boolean, detail = 'not found'): boolean {
    if (seen) this.result.found.push(reach);
    else this.result.missing.push({ reach, seen: detail });
    return seen;
  }
  async run(reach: string, check: () => Promise<boolean | string> | boolean | string): Promise<void> {
    try {
      const seen = await check();
      this.check(reach, seen === true, typeof seen === 'string' ? seen : 'not found');
    } catch (error) {
      this.check(reach, false, `threw: ${errorMessage(error)}`);
    }
  }
}

const own = (target: object, key: string) => Object.getOwnPropertyDescriptor(target, key);

async function nestCore(): Promise<LibraryContract> {
  const r = new Recorder('@nestjs/core');
  class Leaf {}
  Module({})(Leaf);
  class Single {}
  Injectable()(Single);
  class PerRequest {}
  Injectable({ scope: Scope.REQUEST })(PerRequest);
  class Root {}
  Module({ imports: [Leaf, DiscoveryModule], providers: [Single, PerRequest, { provide: 'CONTRACT_ALIAS', useExisting: Single }] })(Root);
  const app = await NestFactory.createApplicationContext(Root, { logger: false, abortOnError: false });
  try {
    const modules = app.get(ModulesContainer);
    const [leaf] = modulesWhere(modules, (cls) => cls === Leaf);
    await r.run('Module#metatype', () => moduleClass(leaf) === Leaf);
    await r.run('Module#distance', () => setHookDistance(leaf, -7) && (leaf as { distance?: number }).distance === -7);
    await r.run("@Module() 'imports' metadata", () => {
      const names = importersOf(modules, (cls) => cls === Leaf);
      return names.length === 1 && names[0] === 'Root' ? true : `importers: ${JSON.stringify(names)}`;
    });
    const wrappers = app.get(DiscoveryService).getProviders();
    const byToken = (token: unknown) => wrappers.find((w) => w.token === token);
    await r.run('InstanceWrapper#isAlias', () => byToken('CONTRACT_ALIAS') !== undefined && wrapperInstance(byToken('CONTRACT_ALIAS')) === undefined);
    await r.run('InstanceWrapper#isDependencyTreeStatic()', () => {
      const single = wrapperInstance(byToken(Single));
      const perRequest = wrapperInstance(byToken(PerRequest));
      return single?.isStatic === true && perRequest?.isStatic === false ? true : `static: ${single?.isStatic}, request-scoped: ${perRequest?.isStatic}`;
    });
    await r.run('NestContainer#applicationConfig.getIoAdapter()', () => watchIoAdapter(modules, () => undefined));
  } finally {
    await app.close();
  }
  return r.result;
}

type Microservices = Record<string, any>;

/** ServerTCP and ClientTCP on loopback: one request and one event, through every TCP and handler reach. */
async function nestMicroservicesTcp(ms: Microservices, r: Recorder): Promise<void> {
  const server = new ms.ServerTCP({ host: '127.0.0.1', port: 0 }) as RpcStrategy & Record<string, any>;
  let netSocketInHandler = false;
  server.addHandler('contract.ping', async (data: unknown, context: unknown) => {
    netSocketInHandler = tcpNetSocketOf(context) !== undefined;
    return data;
  });
  server.addHandler('contract.event', async () => undefined, true);
  const starts: unknown[] = [];
  let ends = 0;
  const tapped = tapHandlers(server, (context) => {
    starts.push(context);
    return () => void ends++;
  });
  // Which seam tapHandlers took, seen from what it changed on the instance.
  const viaRunner = typeof own(server, 'runWithProcessingHooks')?.value === 'function';
  const viaSlots = typeof own(server, 'onProcessingStartHook')?.get === 'function';
  r.check('Server#runWithProcessingHooks', viaRunner, tapped ? 'absent: tapped through the processing hook slots' : 'absent');
  if (!viaRunner) r.check('Server#onProcessingStartHook/onProcessingEndHook slots', viaSlots, 'not tapped');
  let reads = 0;
  const tcpTapped = tapTcpMessages(
    server,
    () => (reads++, () => undefined),
    () => true,
  );
  r.check('ServerTCP#handleMessage', tcpTapped);
  r.check('ServerTCP#handleRequest', typeof own(server, 'handleRequest')?.value === 'function', 'absent: requests told apart by the raw frame id');
  r.check('Server#getHandlers()', handlerPatterns(server).includes('contract.ping'), JSON.stringify(handlerPatterns(server)));

  await within(5000, 'ServerTCP#listen', new Promise<void>((resolve, reject) => {
    server.on?.('error', reject);
    void Promise.resolve(server.listen((error?: unknown) => (error ? reject(error) : resolve()))).catch(reject);
  }));
  const port = (unwrapClient<NetServer>(server)?.address() as AddressInfo | null)?.port;
  const client = new ms.ClientTCP({ host: '127.0.0.1', port });
  class ClientHolder {}
  Module({ providers: [{ provide: 'CONTRACT_TCP_CLIENT', useValue: client }] })(ClientHolder);
  const app = await NestFactory.createApplicationContext(ClientHolder, { logger: false, abortOnError: false });
  try {
    await within(5000, 'ClientTCP#connect', client.connect());
    const { firstValueFrom } = await import('rxjs');
    const reply = await within(5000, 'a TCP request', firstValueFrom(client.send('contract.ping', 42)) as Promise<unknown>);
    r.check('TcpContext#getSocketRef().netSocket', reply === 42 && netSocketInHandler);
    await r.run('tapHandlers: a TCP request starts and ends once', async () => (await until(() => ends >= 1)) && starts.length === 1 && ends === 1 ? true : `starts ${starts.length}, ends ${ends}`);
    await within(5000, 'a TCP event', firstValueFrom(client.emit('contract.event', 1), { defaultValue: undefined }) as Promise<unknown>);
    await r.run('tapHandlers: a TCP event starts and ends once', async () => (await until(() => ends >= 2)) && starts.length === 2 && ends === 2 ? true : `starts ${starts.length}, ends ${ends - 1}`);
    r.check('tapTcpMessages: each frame read is seen', reads === 2, `frames seen: ${reads}`);
    r.check('ServerTCP#openSockets', tcpOpenSockets(server).length === 1, `open sockets seen: ${tcpOpenSockets(server).length}`);
    const clients = ownTcpClientSockets(app.get(ModulesContainer));
    r.check('ClientTCP#socket.netSocket (among Module#providers)', clients.length === 1, `client sockets seen: ${clients.length}`);
    markTcpClosing(server);
    r.check('ServerTCP#isManuallyTerminated', (server as { isManuallyTerminated?: unknown }).isManuallyTerminated === true, 'not set');
  } finally {
    await app.close();
    client.close();
    await server.close();
  }
}

const PROTO = 'syntax = "proto3";\npackage contract;\nservice Contract { rpc Ping (Empty) returns (Empty); }\nmessage Empty {}\n';

/** ServerGrpc listening on loopback (its port chosen by grpc-js). */
async function nestMicroservicesGrpc(ms: Microservices, r: Recorder): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nestjs-quit-contract-'));
  const protoPath = path.join(dir, 'contract.proto');
  writeFileSync(protoPath, PROTO);
  const server = new ms.ServerGrpc({ url: '127.0.0.1:0', package: 'contract', protoPath }) as RpcStrategy & Record<string, any>;
  try {
    r.check('Transport.GRPC (ServerGrpc#transportId)', isGrpcStrategy(server), `transportId: ${String(server.transportId)}`);
    let listened = false;
    const wrapped = afterListen(server, () => (listened = true));
    await within(5000, 'ServerGrpc#listen', new Promise<void>((resolve, reject) => void Promise.resolve(server.listen((error?: unknown) => (error ? reject(error) : resolve()))).catch(reject)));
    r.check('ServerGrpc#listen (afterListen)', wrapped && listened);
    r.check('ServerGrpc#grpcClient', grpcServerOf(server) !== undefined);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Broker strategies, built but never connected: their fields exist from construction. */
async function nestMicroservicesBrokers(ms: Microservices, r: Recorder, absent: string[]): Promise<void> {
  if ((await load('amqplib')) && (await load('amqp-connection-manager'))) {
    const rmq = new ms.ServerRMQ({ urls: ['amqp://127.0.0.1:1'], queue: 'contract' }) as RpcStrategy;
    r.check('ServerRMQ#channel', rmqChannelWrapper(rmq) !== undefined);
    r.check('ServerRMQ#setupChannel', tapRmqSetup(rmq, () => undefined));
  } else absent.push('ServerRMQ#channel', 'ServerRMQ#setupChannel');
  // Nest 11 needs `nats` to build a ServerNats, Nest 12 `@nats-io/transport-node` (loaded later).
  if ((await load('nats')) || (await load('@nats-io/transport-node'))) {
    const nats = new ms.ServerNats({ servers: ['nats://127.0.0.1:1'] }) as RpcStrategy;
    r.check('ServerNats#subscriptions', natsSubscriptions(nats) !== undefined);
  } else absent.push('ServerNats#subscriptions');
}

async function grpcJs(grpc: Record<string, any>): Promise<LibraryContract> {
  const r = new Recorder('@grpc/grpc-js');
  const server = new grpc.Server();
  const method = { path: '/contract.Contract/Ping', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
  server.addService({ Ping: method }, { Ping: (_call: unknown, callback: (e: null, b: Buffer) => void) => callback(null, Buffer.alloc(0)) });
  let client: { close(): void; waitForReady(deadline: number, cb: (e?: Error) => void): void } | undefined;
  try {
    const port = await within(5000, 'grpc-js bindAsync', new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e: Error | null, p: number) => (e ? reject(e) : resolve(p)))));
    const ports = grpcPorts(server);
    r.check('Server#boundPorts', ports.length === 1 && ports[0] === port, `ports: ${JSON.stringify(ports)}`);
    const names = grpcServiceNames(server);
    r.check('Server#handlers', names?.length === 1 && names[0] === 'contract.Contract', `services: ${JSON.stringify(names)}`);
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    client = c;
    await within(5000, 'a grpc-js client connecting', new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 5000, (e?: Error) => (e ? reject(e) : resolve()))));
    await r.run('Server#sessions', async () => (await until(() => grpcSessionCount(server) === 1)) || `sessions: ${grpcSessionCount(server)}`);
  } finally {
    client?.close();
    server.forceShutdown();
  }
  return r.result;
}

async function nestWebsockets(): Promise<LibraryContract | undefined> {
  const adapters: Array<[string, NestWsAdapter]> = [];
  const ws = await load('@nestjs/platform-ws');
  if (ws?.WsAdapter) adapters.push(['WsAdapter', new ws.WsAdapter()]);
  const io = await load('@nestjs/platform-socket.io');
  if (io?.IoAdapter) adapters.push(['IoAdapter', new io.IoAdapter()]);
  if (adapters.length === 0) return undefined;
  const r = new Recorder('@nestjs/websockets');
  for (const [name, adapter] of adapters) {
    r.check(`${name}#create`, tapServerCreation(adapter, () => undefined) && typeof own(adapter, 'create')?.value === 'function');
    r.check(`${name}#bindMessageHandlers`, tapMessageHandlers(adapter, () => undefined) && typeof own(adapter, 'bindMessageHandlers')?.value === 'function');
  }
  return r.result;
}

/**
 * Checks every reach of lib/internals/ that can be checked without a broker, on the
 * libraries installed next to the module. Leaves nothing open (every server, client and
 * app context it makes is closed). Takes well under a second on loopback.
 */
export async function checkInternals(): Promise<{ libraries: LibraryContract[]; unchecked: typeof UNCHECKED }> {
  const libraries: LibraryContract[] = [await nestCore()];

  const ms = await load('@nestjs/microservices');
  const grpcJsPackage = await load('@grpc/grpc-js');
  const grpc = grpcJsPackage && (await load('@grpc/proto-loader'));
  if (ms) {
    const r = new Recorder('@nestjs/microservices');
    const absent: string[] = [];
    await nestMicroservicesTcp(ms, r).catch((error: unknown) => r.check('ServerTCP on loopback', false, `threw: ${errorMessage(error)}`));
    if (grpc) await nestMicroservicesGrpc(ms, r).catch((error: unknown) => r.check('ServerGrpc on loopback', false, `threw: ${errorMessage(error)}`));
    else absent.push('Transport.GRPC (ServerGrpc#transportId)', 'ServerGrpc#listen (afterListen)', 'ServerGrpc#grpcClient');
    await nestMicroservicesBrokers(ms, r, absent);
    libraries.push(Object.assign(r.result, absent.length ? { absent } : {}));
  } else libraries.push(new Recorder('@nestjs/microservices', false).result);

  libraries.push(grpcJsPackage ? await grpcJs(grpcJsPackage) : new Recorder('@grpc/grpc-js', false).result);

  libraries.push((await nestWebsockets()) ?? new Recorder('@nestjs/websockets', false).result);
  return { libraries, unchecked: UNCHECKED };
}

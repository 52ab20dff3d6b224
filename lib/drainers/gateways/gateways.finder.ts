import type { ModulesContainer } from '@nestjs/core';
import { graphqlWsServers } from '../../internals/nest-graphql.js';
import { knownGatewayServers, tapMessageHandlers, tapServerCreation, watchIoAdapter, type NestWsAdapter } from '../../internals/nest-websockets.js';
import { QuitMessages } from '../../quit.messages.js';
import type { DrainerFinder } from '../index.js';
import { beginGatewayHandler, GatewayDrainer } from './gateway.drainer.js';
import { graphqlWsKind } from './graphql-ws.gateway.js';
import { ioServerOf, socketIoKind } from './socket-io.gateway.js';
import { isWsServer, wsKind, type WsServer } from './ws.gateway.js';

/** The gateway servers of one app, followed from their creation. */
class GatewayRegistry {
  readonly drainers: Array<GatewayDrainer<any, any>> = [];
  private readonly servers = new WeakSet<object>();
  private readonly tapped = new WeakSet<object>();
  /** Handlers not counted: the adapter had no seam for it. */
  untapped = false;
  /** The app's adapter is watched from its first read. */
  watched = false;
  /** An adapter whose `create` could not be wrapped: its servers are not seen as they are made. */
  blind = false;

  /** @param graceMs `http.idleGraceMs`: the keep-alive grace of an idle connection (see `PersistentConnections`). */
  constructor(private readonly graceMs: number) {}

  adapter(adapter: NestWsAdapter): void {
    if (this.tapped.has(adapter)) return;
    this.tapped.add(adapter);
    if (!tapMessageHandlers(adapter, beginGatewayHandler)) this.untapped = true;
  }

  server(server: unknown, port: number, httpServer: unknown): void {
    const io = ioServerOf(server);
    const target = io ?? server;
    if (typeof target !== 'object' || target === null || this.servers.has(target)) return;
    if (io) {
      this.servers.add(io);
      this.drainers.push(new GatewayDrainer(socketIoKind, io, this.graceMs));
    } else if (isWsServer(server)) {
      this.servers.add(server);
      this.drainers.push(new GatewayDrainer(wsKind(port, httpServer), server, this.graceMs));
    }
  }
}

const registries = new WeakMap<ModulesContainer, GatewayRegistry>();

/**
 * From a provider's constructor: follows the WebSocket adapter of the app from the moment
 * Nest reads it, so every gateway server is seen as it is created (with its port) and
 * every gateway message handler is counted. Nothing to add in `main.ts` or the gateway.
 */
export function watchGateways(modules: ModulesContainer, graceMs: number): void {
  if (registries.has(modules)) return;
  const registry = new GatewayRegistry(graceMs);
  registries.set(modules, registry);
  registry.watched = watchIoAdapter(modules, (adapter) => {
    registry.adapter(adapter);
    if (!tapServerCreation(adapter, (server, port) => registry.server(server, port, adapter.httpServer))) registry.blind = true;
  });
}

/**
 * Adds a drainer for every gateway server of the app (ws, Socket.IO) and for the
 * graphql-ws server of a GraphQL module. Gateway servers not seen at their creation
 * (the adapter's `create` could not be watched) are found through the gateways'
 * `@WebSocketServer()` properties and `@nestjs/platform-ws`'s registry.
 */
export const gatewaysFinder: DrainerFinder = ({ modules, options, add, httpHost }) => {
  let registry = registries.get(modules);
  if (!registry) {
    registry = new GatewayRegistry(options.http.idleGraceMs);
    registries.set(modules, registry);
  }
  const httpServer = httpHost?.httpAdapter?.getHttpServer?.();
  if (!registry.watched || registry.blind) {
    const { adapter, servers } = knownGatewayServers(modules);
    if (adapter) registry.adapter(adapter);
    for (const server of servers) registry.server(server, 0, adapter?.httpServer ?? httpServer);
    if (servers.length) options.logger?.warn(QuitMessages.gatewaysNotWatched());
  }
  if (registry.untapped && registry.drainers.length) options.logger?.warn(QuitMessages.gatewayHandlersNotCounted());
  for (const drainer of registry.drainers) add(drainer);
  for (const wss of graphqlWsServers(modules)) if (isWsServer(wss)) add(new GatewayDrainer(graphqlWsKind(httpServer), wss as WsServer, options.http.idleGraceMs));
};

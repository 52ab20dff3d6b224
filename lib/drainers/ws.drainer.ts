import type { ModulesContainer } from '@nestjs/core';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import { FORCE_CLOSE_GRACE_MS } from './http.drainer.js';
import type { DrainerFinder } from './index.js';

/** What the drainer needs of a `ws` WebSocket. */
interface WsClient {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** What the drainer needs of a `ws` WebSocketServer (the server `@nestjs/platform-ws` makes). */
interface WsServer {
  readonly clients?: Set<WsClient>;
  on(event: 'connection', listener: (client: WsClient) => void): unknown;
  handleUpgrade(...args: unknown[]): unknown;
}

/** RFC 6455 §7.4.1: the endpoint is going away (a server shutting down). */
export const WS_GOING_AWAY = 1001;
const CLOSED = 3;

/** `@WebSocketGateway()` classes carry it (`@nestjs/websockets`). */
const GATEWAY_METADATA = 'websockets:is_gateway';

/**
 * Drains the WebSocket servers of the app's gateways (`@nestjs/platform-ws`). A
 * WebSocket has no "request in flight" to wait for: the app ends its sockets itself
 * when it sees `quit.signal` abort (a last message, then `close(1001)`), and the ones
 * still open at the phase timeout are closed with 1001 "going away", then terminated if
 * the close handshake is not over within `FORCE_CLOSE_GRACE_MS`. A socket opened once
 * intake has stopped is closed with 1001 at once. Nest's own shutdown would terminate
 * every socket without a close frame (the client sees 1006).
 */
export class WsDrainer implements TransportDrainer {
  /** WebSockets arrive as HTTP upgrades: they stop with the HTTP transport. */
  readonly transport = 'http' as const;
  readonly name = 'ws';
  private readonly clients = new Set<WsClient>();
  private draining = false;
  private drained?: () => void;

  constructor(servers: WsServer[]) {
    for (const server of servers) {
      server.clients?.forEach((client) => this.track(client));
      server.on('connection', (client) => this.track(client));
    }
  }

  stopIntake(): void {
    this.draining = true;
  }

  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.drained = resolve;
      this.check();
    });
  }

  async forceClose(): Promise<void> {
    // The drain is over (cut short): it must not also report itself done later.
    this.drained = undefined;
    const open = [...this.clients];
    const closed = Promise.all(open.map((client) => new Promise<void>((resolve) => (client.readyState === CLOSED ? resolve() : client.once('close', resolve)))));
    for (const client of open) goAway(client);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, FORCE_CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const client of this.clients) client.terminate();
  }

  pending(): string[] {
    return [`${this.name}: ${this.clients.size} WebSocket(s) open`];
  }

  private track(client: WsClient): void {
    if (this.clients.has(client) || client.readyState === CLOSED) return;
    this.clients.add(client);
    client.once('close', () => {
      this.clients.delete(client);
      this.check();
    });
    if (this.draining) goAway(client);
  }

  private check(): void {
    if (this.clients.size === 0) this.drained?.();
  }
}

function goAway(client: WsClient): void {
  try {
    client.close(WS_GOING_AWAY, 'going away');
  } catch {
    // Still connecting: there is no close handshake to have.
    client.terminate();
  }
}

function isWsServer(value: unknown): value is WsServer {
  const v = value as Partial<WsServer> | null;
  return typeof v === 'object' && v !== null && typeof v.handleUpgrade === 'function' && typeof v.on === 'function';
}

/**
 * The `ws` servers of the app: those the gateways hold in their `@WebSocketServer()`
 * property, and those `@nestjs/platform-ws`'s adapter keeps for gateways that share the
 * HTTP server or a port (its registry; read defensively, it is not public API).
 */
export function findWsServers(modules: ModulesContainer): WsServer[] {
  const found = new Set<WsServer>();
  let ioAdapter: { wsServersRegistry?: unknown } | undefined;
  for (const moduleRef of modules.values()) {
    ioAdapter ??= (moduleRef as unknown as { container?: { applicationConfig?: { getIoAdapter?(): unknown } } }).container?.applicationConfig?.getIoAdapter?.() as
      | { wsServersRegistry?: unknown }
      | undefined;
    for (const wrapper of moduleRef.providers.values()) {
      const { instance, metatype } = wrapper;
      if (!instance || typeof metatype !== 'function' || !Reflect.getMetadata(GATEWAY_METADATA, metatype)) continue;
      for (const value of Object.values(instance as object)) if (isWsServer(value)) found.add(value);
    }
  }
  const registry = ioAdapter?.wsServersRegistry;
  if (registry instanceof Map) {
    for (const servers of registry.values()) for (const server of Array.isArray(servers) ? servers : []) if (isWsServer(server)) found.add(server);
  }
  return [...found];
}

/** Adds one drainer for every WebSocket server of the app's gateways, if there are any. */
export const wsFinder: DrainerFinder = ({ modules, add }) => {
  const servers = findWsServers(modules);
  if (servers.length) add(new WsDrainer(servers));
};

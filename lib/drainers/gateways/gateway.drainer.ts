import type { TransportDrainer } from '../../interfaces/transport-drainer.interface.js';
import { PersistentConnections } from '../connections/persistent-connections.js';
import { FORCE_CLOSE_GRACE_MS } from '../http.drainer.js';

/** How one kind of gateway server holds its connections and ends them. */
export interface GatewayKind<S, C extends object> {
  /** `ws`, `socket.io`, `graphql-ws`: the drainer's name is `<label>:<port>`. */
  readonly label: string;
  /** Calls `onOpen` with every connection open now and every one to come. */
  follow(server: S, onOpen: (conn: C) => void): void;
  /** Calls `listener` once `conn` has closed (at once if it has). */
  onClose(conn: C, listener: () => void): void;
  /** The protocol's goodbye, once nothing is in flight on `conn` (see `ConnectionProtocol`). */
  goodbye(conn: C): void;
  /** Ends `conn` at once, without a handshake. */
  destroy(conn: C): void;
  /** The port the server's clients connect to, once it listens. */
  port(server: S): number | undefined;
  /** Follows the handlers `conn` runs itself (a kind whose handlers are not Nest gateway handlers). */
  instrument?(conn: C, connections: PersistentConnections<C>): void;
  /** The drain has started (called once per drain, before its goodbyes). */
  draining?(): void;
  /** Takes off whatever `follow`, `onClose` and `instrument` attached to the server and its connections. */
  dispose?(server: S): void;
}

/**
 * Which drain a gateway connection belongs to. Nest hands the adapter a client (a `ws`
 * WebSocket, a Socket.IO socket whose transport is `client.conn`): the handler tap looks
 * its drain up here.
 */
const owners = new WeakMap<object, PersistentConnections<object>>();

/**
 * For the handler tap (`tapMessageHandlers`): starts the drain's count of a handler on
 * `client`, or refuses it (the connection said goodbye), or leaves it alone (not a
 * gateway connection this module follows).
 */
export function beginGatewayHandler(client: object): (() => void) | false | undefined {
  let conn: object = client;
  let connections = owners.get(client);
  if (!connections) {
    const transport = (client as { conn?: unknown }).conn;
    if (typeof transport !== 'object' || transport === null) return undefined;
    conn = transport;
    connections = owners.get(transport);
    if (!connections) return undefined;
  }
  const drain = connections;
  return drain.begin(conn) ? () => drain.end(conn) : false;
}

/**
 * Drains one gateway server (a `ws` server, a Socket.IO server with all its namespaces,
 * the graphql-ws server of a GraphQL module) with `PersistentConnections`: from the start
 * of the drain each connection finishes the handlers it has started (their replies and
 * acks are written), then gets its protocol's goodbye as soon as nothing is in flight on
 * it; a message that arrives after that does not start a handler. A connection opened
 * during the drain gets its goodbye at once. The drain is over when every connection has
 * closed: about as long as the slowest handler in flight.
 *
 * It follows the connections from the server's creation, so its counts are right when
 * the drain starts. It is an `http` transport: gateways stop with the HTTP server,
 * whether they share its port or have their own.
 */
export class GatewayDrainer<S, C extends object> implements TransportDrainer {
  readonly transport = 'http' as const;
  private readonly connections: PersistentConnections<C>;
  private drained?: Promise<void>;
  /** Kept once known: a shared HTTP server no longer has an address once its intake has stopped. */
  private port?: number;

  constructor(
    private readonly kind: GatewayKind<S, C>,
    private readonly server: S,
    graceMs = 0,
  ) {
    this.connections = new PersistentConnections<C>(kind, graceMs);
    kind.follow(server, (conn) => this.open(conn));
  }

  get name(): string {
    this.port ??= this.kind.port(this.server);
    return this.port ? `${this.kind.label}:${this.port}` : this.kind.label;
  }

  stopIntake(): void {
    // From now on an idle connection gets its goodbye, and so does a new one.
    this.startDrain();
  }

  drain(): Promise<void> {
    return this.startDrain();
  }

  /** Unregistered (a server the app made itself): what was attached to it comes off. */
  dispose(): void {
    this.kind.dispose?.(this.server);
  }

  forceClose(): Promise<void> {
    return this.connections.closeAll(FORCE_CLOSE_GRACE_MS);
  }

  pending(): string[] {
    const { inFlight, size } = this.connections;
    if (size === 0) return [];
    return [inFlight > 0 ? `${this.name}: ${inFlight} message(s) in flight, ${size} connection(s) open` : `${this.name}: ${size} connection(s) open`];
  }

  private startDrain(): Promise<void> {
    if (!this.drained) {
      this.kind.draining?.();
      this.drained = this.connections.drain();
    }
    return this.drained;
  }

  private open(conn: C): void {
    if (owners.has(conn)) return;
    this.port ??= this.kind.port(this.server);
    owners.set(conn, this.connections as PersistentConnections<object>);
    this.connections.add(conn);
    this.kind.instrument?.(conn, this.connections);
    this.kind.onClose(conn, () => this.connections.closed(conn));
  }
}

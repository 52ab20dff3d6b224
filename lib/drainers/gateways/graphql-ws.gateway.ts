import type { PersistentConnections } from '../connections/persistent-connections.js';
import type { GatewayKind } from './gateway.drainer.js';
import { goAway, wsKind, type WsClient, type WsServer } from './ws.gateway.js';

/** A graphql-ws connection: a `ws` WebSocket that also sends and listens. */
interface GraphqlWsClient extends WsClient {
  send(data: unknown, ...rest: unknown[]): unknown;
  prependListener(event: 'message', listener: (data: unknown) => void): unknown;
  removeAllListeners(event: 'message'): unknown;
}

interface OperationMessage {
  type?: string;
  id?: string;
  payload?: { query?: unknown; operationName?: unknown };
}

function parse(data: unknown): OperationMessage | undefined {
  try {
    const message: unknown = JSON.parse(String(data));
    return typeof message === 'object' && message !== null ? (message as OperationMessage) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the operation a GraphQL document runs (the one named `operationName`, or its
 * only one) is a subscription. Reads only the document's top level: the operation
 * keywords and names outside every `{}` and `()`, after strings and comments are taken
 * out; a shorthand `{ … }` is a query.
 */
export function isSubscription(query: string, operationName?: string): boolean {
  const source = query.replace(/"""[\s\S]*?"""|"(?:\\.|[^"\\\n])*"|#[^\n\r]*/g, ' ');
  const definitions: Array<{ type: string; name?: string }> = [];
  let depth = 0;
  let open: { type: string; name?: string } | undefined;
  for (const [token] of source.matchAll(/[{}()]|@?[_A-Za-z][_0-9A-Za-z]*/g)) {
    if (token === '{' || token === '(') {
      if (token === '{' && depth === 0) {
        definitions.push(open ?? { type: 'query' });
        open = undefined;
      }
      depth++;
    } else if (token === '}' || token === ')') {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0 && !token.startsWith('@')) {
      if (!open) open = { type: token };
      else open.name ??= token;
    }
  }
  const operations = definitions.filter((d) => d.type === 'query' || d.type === 'mutation' || d.type === 'subscription');
  const operation = operationName ? operations.find((o) => o.name === operationName) : operations[0];
  return operation?.type === 'subscription';
}

/**
 * The graphql-ws server of a GraphQL module (`@nestjs/graphql`'s subscriptions service,
 * `subscriptions: { 'graphql-ws': true }`). Its handlers in flight are the queries and
 * mutations sent over the socket, from their `subscribe` message until the server's
 * `complete` or `error` for them is written; a subscription is not in flight (it has no
 * end to wait for): it ends with the connection, and the client subscribes again on the
 * replica it reconnects to. The goodbye is a close 1001 (the graphql-ws client retries
 * from it); a message that arrives after it is not handled.
 */
export function graphqlWsKind(httpServer: unknown): GatewayKind<WsServer, GraphqlWsClient> {
  const base = wsKind(0, httpServer) as unknown as GatewayKind<WsServer, GraphqlWsClient>;
  return {
    ...base,
    label: 'graphql-ws',
    goodbye(client) {
      goAway(client);
      // graphql-ws reads messages whatever the socket's state.
      client.removeAllListeners('message');
    },
    instrument(client, connections: PersistentConnections<GraphqlWsClient>) {
      const operations = new Set<string>();
      const end = (id: unknown) => {
        if (typeof id === 'string' && operations.delete(id)) connections.end(client);
      };
      client.prependListener('message', (data) => {
        const message = parse(data);
        if (message?.type === 'complete') return end(message.id);
        if (message?.type !== 'subscribe' || typeof message.id !== 'string' || operations.has(message.id)) return;
        const { query, operationName } = message.payload ?? {};
        if (typeof query !== 'string' || isSubscription(query, typeof operationName === 'string' ? operationName : undefined)) return;
        if (connections.begin(client)) operations.add(message.id);
      });
      const send = client.send;
      client.send = function (this: unknown, data: unknown, ...rest: unknown[]) {
        const result = send.call(this, data, ...rest);
        if (operations.size > 0) {
          const message = parse(data);
          if (message?.type === 'complete' || message?.type === 'error') end(message.id);
        }
        return result;
      };
    },
  };
}

/**
 * Real clients that keep a gateway busy: each sends one `work` message, waits for its
 * reply, sends the next, until its connection is closed, and records what it saw.
 */
import { createClient } from 'graphql-ws';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';

export interface ClientEnd {
  /** Ids sent and ids answered, in order. */
  sent: string[];
  replied: string[];
  /** ws / graphql-ws: the close code; Socket.IO: the disconnect reason. */
  close: string;
  /** Socket.IO: whether the client was going to reconnect by itself. */
  reconnects?: boolean;
  /** Connection errors (resets) seen before the close. */
  errors: string[];
  /** graphql-ws: subscription events received. */
  ticks?: number;
}

export interface LoadClient {
  /** Resolves once the client has had `n` replies. */
  replies(n: number): Promise<void>;
  ended: Promise<ClientEnd>;
  /** Ids answered so far. */
  replied: string[];
  /** Ends the client now (a benchmark done with it). */
  close(): void;
}

function replyWaiter(replied: string[]) {
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    wait: (n: number) => new Promise<void>((resolve) => (replied.length >= n ? resolve() : waiters.push({ n, resolve }))),
    check: () => waiters.filter((w) => replied.length >= w.n).forEach((w) => w.resolve()),
  };
}

export function wsClient(port: number, name: string): LoadClient {
  const sent: string[] = [];
  const replied: string[] = [];
  const errors: string[] = [];
  const waiter = replyWaiter(replied);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const next = () => {
    const id = `${name}-${sent.length}`;
    sent.push(id);
    ws.send(JSON.stringify({ event: 'work', data: id }));
  };
  ws.on('open', next);
  ws.on('error', (e) => errors.push(e.message));
  ws.on('message', (data) => {
    const { event, data: id } = JSON.parse(data.toString()) as { event: string; data: string };
    if (event !== 'done') return;
    replied.push(id);
    waiter.check();
    if (ws.readyState === WebSocket.OPEN) next();
  });
  const ended = new Promise<ClientEnd>((resolve) => ws.on('close', (code) => resolve({ sent, replied, close: String(code), errors })));
  return { replies: waiter.wait, ended, replied, close: () => ws.terminate() };
}

/** `polling`: the client stays on HTTP long-polling (`transports: ['polling']`), as behind a proxy without WebSocket support. */
export function socketIoClient(port: number, name: string, polling = false): LoadClient {
  const sent: string[] = [];
  const replied: string[] = [];
  const errors: string[] = [];
  const waiter = replyWaiter(replied);
  // Default options: polling first, then the upgrade to a WebSocket; reconnection on.
  const socket = io(`http://127.0.0.1:${port}`, polling ? { transports: ['polling'] } : {});
  let upgraded = polling;
  const next = () => {
    const id = `${name}-${sent.length}`;
    sent.push(id);
    socket.emit('work', id, (ack: string) => {
      replied.push(ack);
      waiter.check();
      if (socket.connected) next();
    });
  };
  socket.on('connect', () => {
    const engine = socket.io.engine;
    if (engine.transport.name === 'websocket') upgraded = true;
    else engine.once('upgrade', () => (upgraded = true));
    next();
  });
  socket.on('connect_error', (e) => errors.push(e.message));
  const ended = new Promise<ClientEnd>((resolve) =>
    socket.on('disconnect', (reason) => {
      const reconnects = socket.active;
      // The server is going away: do not reconnect to it here (a real client would reach another replica).
      socket.io.reconnection(false);
      socket.close();
      resolve({ sent, replied, close: reason, reconnects, errors: upgraded ? errors : [...errors, 'never upgraded'] });
    }),
  );
  return { replies: waiter.wait, ended, replied, close: () => socket.close() };
}

export function graphqlWsClient(port: number, name: string): LoadClient {
  const sent: string[] = [];
  const replied: string[] = [];
  const errors: string[] = [];
  let ticks = 0;
  const waiter = replyWaiter(replied);
  let resolveEnd!: (end: ClientEnd) => void;
  const ended = new Promise<ClientEnd>((resolve) => (resolveEnd = resolve));
  let closed = false;
  const client = createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    on: {
      error: (e) => errors.push(String((e as Error)?.message ?? e)),
      closed: (event) => {
        closed = true;
        resolveEnd({ sent, replied, close: String((event as { code?: number }).code), errors, ticks });
      },
    },
  });
  client.subscribe({ query: 'subscription Ticks { ticks }' }, { next: () => void ticks++, error: () => undefined, complete: () => undefined });
  const next = () => {
    if (closed) return;
    const id = `${name}-${sent.length}`;
    sent.push(id);
    client.subscribe(
      { query: `query Work($id: String!) { work(id: $id) }`, variables: { id } },
      {
        next: (result) => {
          const answer = (result.data as { work?: string } | null | undefined)?.work;
          if (answer) {
            replied.push(answer);
            waiter.check();
          }
        },
        error: () => undefined,
        complete: () => next(),
      },
    );
  };
  next();
  return {
    replies: waiter.wait,
    ended: ended.then((end) => ({ ...end, ticks })),
    replied,
    close: () => void client.dispose(),
  };
}

import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ClientTCP, ServerTCP } from '@nestjs/microservices';
import type { AddressInfo, Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { TcpDrainer, tcpConnectionKey } from '../lib/drainers/rpc-tcp.drainer.js';
import type { RpcStrategy } from '../lib/internals/nest-microservices.js';

/**
 * Nest's own ServerTCP (12.1) as Nest 12.0 and 11.1 have it: no `openSockets`, so a
 * connection accepted before the drainer was made is first seen when it sends a frame.
 */
class ServerTcpWithoutOpenSockets extends ServerTCP {
  constructor(options: ConstructorParameters<typeof ServerTCP>[0]) {
    super(options);
    delete (this as unknown as { openSockets?: unknown }).openSockets;
  }
  override trackOpenSocket(): void {}
  override closeOpenSockets(): void {}
}

const listen = (server: ServerTCP) => new Promise<number>((resolve, reject) => server.listen((error?: unknown) => (error ? reject(error) : resolve((server.unwrap<import('node:net').Server>().address() as AddressInfo).port))));

/** Resolves true if `promise` settles within `ms` (a generous bound, not a timing assertion). */
const within = (promise: Promise<unknown>, ms: number) =>
  new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => (clearTimeout(timer), resolve(true)));
  });

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

/** A TCP server with a `slow` request handler (`release()` lets the running one reply) and its drainer, made after `beforeDrainer` ran. */
async function setUp(server: ServerTCP, beforeDrainer: (port: number) => Promise<ClientTCP[]>, ownClients: (clients: ClientTCP[]) => () => Socket[] = () => () => []) {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  server.addHandler('slow', async (n: number) => (started(), await released, n * 2));
  server.addHandler('fast', async (n: number) => n * 2);
  const port = await listen(server);
  cleanup.push(() => server.close());
  const clients = await beforeDrainer(port);
  for (const client of clients) cleanup.push(() => client.close());
  const drainer = new TcpDrainer(server as unknown as RpcStrategy, async () => server.close(), ownClients(clients));
  return { port, clients, drainer, running, release };
}

const connect = async (port: number, host = '127.0.0.1') => {
  const client = new ClientTCP({ host, port });
  await client.connect();
  // A reply: the server has accepted the connection and read from it.
  expect(await firstValueFrom(client.send('fast', 1))).toBe(2);
  return client;
};

const netSocketOf = (client: ClientTCP) => (client as unknown as { socket: { netSocket: Socket } }).socket.netSocket;

describe('TcpDrainer', () => {
  it('drains a connection accepted before the drainer was made (no openSockets): its request is answered, then it closes and the drain is over', async () => {
    const { clients, drainer, running, release } = await setUp(new ServerTcpWithoutOpenSockets({ host: '127.0.0.1', port: 0 }), async (port) => [await connect(port)]);
    const reply = firstValueFrom(clients[0].send('slow', 21));
    await running;
    drainer.stopIntake();
    const drained = drainer.drain();
    expect(await within(drained, 500)).toBe(false); // the request is still running
    release();
    expect(await reply).toBe(42);
    // Before the fix the connection had no close listener: the drain waited for the phase timeout.
    expect(await within(drained, 10_000)).toBe(true);
    expect(drainer.pending()).toEqual([`${drainer.name}: 0 request(s) in flight, 0 connection(s) open`]);
  });

  it("keeps serving the app's own client on a server listening on :: (the server sees ::ffff:127.0.0.1, the client 127.0.0.1), and drains the other connections", async () => {
    const { clients, drainer } = await setUp(
      new ServerTCP({ host: '::', port: 0 }),
      async (port) => [await connect(port), await connect(port)],
      ([own]) => () => [netSocketOf(own)],
    );
    const [own, other] = clients;
    const [ownSocket, otherSocket] = [netSocketOf(own), netSocketOf(other)];
    expect([ownSocket.localAddress, ownSocket.remoteAddress]).toEqual(['127.0.0.1', '127.0.0.1']);
    drainer.stopIntake();
    // The other connection had nothing in flight: it got its FIN, and the drain is over once it closed.
    expect(await within(drainer.drain(), 10_000)).toBe(true);
    expect(otherSocket.destroyed).toBe(true);
    // The app's own connection is neither paused nor ended: a call through it is answered.
    expect(await within(firstValueFrom(own.send('fast', 2)).then((n) => expect(n).toBe(4)), 10_000)).toBe(true);
    expect(ownSocket.destroyed).toBe(false);
    expect(netSocketOf(own)).toBe(ownSocket);
  });
});

describe('tcpConnectionKey', () => {
  const server = { localAddress: '::ffff:127.0.0.1', localPort: 3001, remoteAddress: '::ffff:127.0.0.1', remotePort: 50123 };
  const client = { localAddress: '127.0.0.1', localPort: 50123, remoteAddress: '127.0.0.1', remotePort: 3001 };

  it('is the same from both ends of one connection, IPv4-mapped or not', () => {
    expect(tcpConnectionKey(server, 'server')).toBe(tcpConnectionKey(client, 'client'));
    expect(tcpConnectionKey({ ...server, localAddress: '::FFFF:127.0.0.1', remoteAddress: '127.0.0.1' }, 'server')).toBe(tcpConnectionKey(client, 'client'));
    const v6 = { localAddress: '::1', localPort: 3001, remoteAddress: '::1', remotePort: 50123 };
    expect(tcpConnectionKey(v6, 'server')).toBe(tcpConnectionKey({ ...v6, localPort: 50123, remotePort: 3001 }, 'client'));
  });

  it('differs for another connection: another client port, another server port, another host', () => {
    const key = tcpConnectionKey(client, 'client');
    expect(tcpConnectionKey({ ...server, remotePort: 50124 }, 'server')).not.toBe(key);
    expect(tcpConnectionKey({ ...server, localPort: 3002 }, 'server')).not.toBe(key);
    expect(tcpConnectionKey({ ...server, remoteAddress: '::ffff:10.0.0.7' }, 'server')).not.toBe(key);
    // The client's end read as a server's is another connection (the ports swap).
    expect(tcpConnectionKey(client, 'server')).not.toBe(key);
  });
});

import net from 'node:net';

/**
 * A TCP proxy in front of a broker, on a free loopback port, that can freeze: from then on
 * it forwards nothing either way and keeps every connection open — a network partition as
 * the app sees it (nothing is refused or reset, nothing answers). `close()` ends every
 * connection, which the broker sees as the client gone.
 */
export class FreezableProxy {
  private readonly server = net.createServer((client) => this.pipe(client));
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;

  private constructor(private readonly target: number) {}

  static async start(target: number): Promise<FreezableProxy & { port: number }> {
    const proxy = new FreezableProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return Object.assign(proxy, { port: (proxy.server.address() as net.AddressInfo).port });
  }

  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private pipe(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.on('data', (chunk) => {
        if (!this.frozen) to.write(chunk);
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        this.sockets.delete(from);
        if (!this.frozen) to.destroy();
      });
    }
    if (this.frozen) this.freeze();
  }
}

import net from 'node:net';

/** A loopback port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts a connection on `port`, or rejects after `timeoutMs` or when `gaveUp` settles first. */
export async function untilListening(port: number, timeoutMs: number, gaveUp: Promise<unknown>): Promise<void> {
  let over = false;
  let why = `nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms (does the app listen on the port variable the kit set?)`;
  void gaveUp.then(() => {
    over = true;
    why = `the app exited before it listened on 127.0.0.1:${port}`;
  });
  const end = Date.now() + timeoutMs;
  while (!over && Date.now() < end) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(why);
}

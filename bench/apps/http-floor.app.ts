/**
 * The physical floor of the HTTP scale benchmark: a bare Node HTTP server (no Nest, no
 * module) with the same routes, that at SIGTERM stops accepting, closes every idle
 * keep-alive socket at once (`server.close()`, which calls `closeIdleConnections()`),
 * and closes each busy one after its response (`Connection: close`). It resets whatever
 * request crosses the close of an idle socket, and nothing else.
 */
import http from 'node:http';
import { stampExit } from './exit-stamps.js';
import { heapUsedAfterGc } from './heap.js';

const open = new Set<http.ServerResponse>();
let closing = false;

const server = http.createServer((req, res) => {
  open.add(res);
  res.once('finish', () => open.delete(res));
  if (closing) res.setHeader('Connection', 'close');
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/slow') {
    setTimeout(() => res.end('done'), Number(url.searchParams.get('ms') ?? 300));
  } else if (url.pathname === '/heap') {
    res.end(String(heapUsedAfterGc()));
  } else {
    res.end('pong');
  }
});

process.once('SIGTERM', () => {
  closing = true;
  for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
  server.close(() => process.exit(0));
});

if (process.env.STAMPS) stampExit(server);
server.listen(0, '127.0.0.1', () => process.stdout.write(`ready ${(server.address() as { port: number }).port}\n`));

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The sample's settings, from the environment. */
export const config = {
  httpPort: Number(process.env.PORT ?? 3000),
  grpcPort: Number(process.env.GRPC_PORT ?? 50051),
  /** With REDIS_PORT set, the queue is BullMQ on that Redis; otherwise an in-process queue. */
  redis: process.env.REDIS_PORT ? { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT) } : undefined,
  readinessDelayMs: Number(process.env.READINESS_DELAY_MS ?? 0),
  /** SAMPLE_JSON=1: quit events and counters as JSON lines on stdout (what `npm run demo` reads). */
  json: process.env.SAMPLE_JSON === '1',
};

/** `sample/proto/orders.proto`, found from the repository root whether run from build/ (npm run sample, nest start). */
export const ORDERS_PROTO = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'sample', 'proto', 'orders.proto');
    if (existsSync(file)) return file;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('sample/proto/orders.proto not found');
    dir = up;
  }
})();

/**
 * A rolling restart of two replicas of the sample app under continuous load, the way a
 * deploy does it: HTTP clients go through a real HAProxy (health checks on the readiness
 * route, keep-alive reuse to the backends, no retry of a request that reached a server);
 * gRPC clients balance over both replicas themselves (`round_robin`). Replica A is
 * restarted (SIGTERM, wait for its exit, start again, wait until it serves), then B.
 * Not one client request may fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { Child } from './helpers/child.js';
import { Haproxy } from './helpers/haproxy.js';
import { get } from './helpers/http.js';
import { freePort } from './helpers/ports.js';
import { grpcLoad, httpLoad, startLoad, type LoadFigures } from '../lib/testing/index.js';

const SAMPLE = path.resolve('build', 'sample', 'src', 'main.js');
const PROTO = path.resolve('sample', 'proto', 'orders.proto');
const MIN_HTTP_REQUESTS = 10_000;
const LOAD_LIMIT_MS = 120_000;

interface Replica {
  name: string;
  http: number;
  grpc: number;
  child?: Child;
}

function startReplica(r: Replica): Child {
  // Readiness turns 503 at SIGTERM; HAProxy (checks every 100 ms) takes the replica out
  // well within the 500 ms during which it keeps serving normally. ROLL_READINESS_DELAY_MS
  // changes the delay, for experiments (docs/RELIABILITY.md).
  r.child = new Child(SAMPLE, { PORT: String(r.http), GRPC_PORT: String(r.grpc), READINESS_DELAY_MS: process.env.ROLL_READINESS_DELAY_MS ?? '500', SAMPLE_JSON: '1' });
  return r.child;
}

async function until(test: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ready = (r: Replica) => until(async () => (await get(r.http, '/health/ready')).status === 200, `${r.name} ready`);
const metrics = async (r: Replica) => JSON.parse((await get(r.http, '/metrics')).body) as Record<string, number>;

describe('rolling restart of two replicas under load', () => {
  const replicas: Replica[] = [];
  let haproxy: Haproxy;
  let frontend: number;

  beforeAll(async () => {
    for (const name of ['a', 'b']) replicas.push({ name, http: await freePort(), grpc: await freePort() });
    replicas.forEach(startReplica);
    await Promise.all(replicas.map(ready));
    frontend = await freePort();
    haproxy = new Haproxy({
      frontendPort: frontend,
      statsPort: await freePort(),
      servers: Object.fromEntries(replicas.map((r) => [r.name, r.http])),
      checkPath: '/health/ready',
    });
    await haproxy.start();
    for (const r of replicas) await haproxy.waitForState(r.name, 'UP');
  });

  afterAll(async () => {
    replicas.forEach((r) => r.child?.stop());
    await haproxy?.stop();
  });

  it('loses no HTTP request through HAProxy and no gRPC call, and each old process exits cleanly by itself', async () => {
    // HTTP: keep-alive clients looping through HAProxy (nestjs-quit/testing's load).
    const httpRun = startLoad(httpLoad({ connections: 16, path: (i) => `/orders/${i}?ms=5` }), { port: frontend, stopAfterMs: LOAD_LIMIT_MS });

    // gRPC: one channel balancing round-robin over both replicas, quick to reconnect.
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO)) as any;
    const client = new pkg.sample.Orders(`ipv4:${replicas.map((r) => `127.0.0.1:${r.grpc}`).join(',')}`, grpc.credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 200,
    });
    const grpcRun = startLoad(
      grpcLoad({
        concurrency: 8,
        call: (id) => new Promise((resolve, reject) => client.GetOrder({ id, ms: 5 }, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null) => (error ? reject(error) : resolve(undefined)))),
      }),
      { port: 0, stopAfterMs: LOAD_LIMIT_MS }, // the channel has its own addresses
    );

    const exits: Record<string, number | null> = {};
    for (const r of replicas) {
      const old = r.child!;
      const before = await metrics(r);
      await until(async () => (await metrics(r))['grpc.completed'] > (before['grpc.completed'] ?? 0), `${r.name} serving gRPC`);
      old.kill('SIGTERM');
      exits[r.name] = (await old.exited).code;
      startReplica(r);
      await ready(r);
      await haproxy.waitForState(r.name, 'UP');
      // The new process takes traffic of both kinds before the other replica goes down.
      await until(async () => {
        const m = await metrics(r);
        return (m['http.completed'] ?? 0) > 0 && (m['grpc.completed'] ?? 0) > 0;
      }, `${r.name} taking traffic again`);
    }
    await until(async () => httpRun.ok >= MIN_HTTP_REQUESTS, `${MIN_HTTP_REQUESTS} HTTP requests`, LOAD_LIMIT_MS);
    const [http, rpc] = await Promise.all([httpRun.stop(), grpcRun.stop()]);
    client.close();

    const failed = (f: LoadFigures) => f.sent + f.refused - f.ok;
    // On a failure, what HAProxy saw says where it came from.
    if (failed(http)) console.log(haproxy.log.split('\n').filter((l) => !l.includes(' 200 ')).slice(0, 40).join('\n'));
    console.log(`rolling restart: HTTP ${http.ok} ok / ${failed(http)} failed, gRPC ${rpc.ok} ok / ${failed(rpc)} failed, exits ${JSON.stringify(exits)}`);
    const clean = { refused: 0, resets: 0, status5xx: 0, status503: 0, badAnswers: 0, timeouts: 0, errors: [] };
    expect(http).toMatchObject(clean);
    expect(rpc).toMatchObject(clean);
    expect(http.ok).toBe(http.sent);
    expect(rpc.ok).toBe(rpc.sent);
    expect(http.ok).toBeGreaterThanOrEqual(MIN_HTTP_REQUESTS);
    expect(rpc.ok).toBeGreaterThan(0);
    expect(exits).toEqual({ a: 0, b: 0 });
  }, 180_000);
});

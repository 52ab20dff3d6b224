/**
 * A rolling restart of two replicas of the sample app under continuous load, the way a
 * deploy does it: HTTP clients go through a real HAProxy (health checks on the readiness
 * route, keep-alive reuse to the backends, no retry of a request that reached a server);
 * gRPC clients balance over both replicas themselves: some with grpc-js's `round_robin`,
 * some the way Envoy or a mesh does, on the replicas' `grpc.health.v1` Watch (a replica
 * gets calls only while it says SERVING; the sample sets `grpcHealth: true`). Replica A is
 * restarted (SIGTERM, wait for its exit, start again, wait until it serves), then B.
 * Not one client request may fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import http from 'node:http';
import path from 'node:path';
import { Child } from './helpers/child.js';
import { Haproxy } from './helpers/haproxy.js';
import { healthClient, watchHealth } from './src/grpc-proto.js';
import { get } from './helpers/http.js';
import { freePort } from './helpers/ports.js';

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
    const results = { http: { ok: 0, failed: [] as string[] }, grpc: { ok: 0, failed: [] as string[] } };
    let stop = false;
    const deadline = Date.now() + LOAD_LIMIT_MS;
    const t0 = Date.now();
    const running = () => !stop && Date.now() < deadline;

    // HTTP: keep-alive clients looping through HAProxy.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const httpLoops = Array.from({ length: 16 }, async (_, i) => {
      while (running()) {
        try {
          const reply = await get(frontend, `/orders/${i}?ms=5`, agent);
          if (reply.status === 200) results.http.ok++;
          else results.http.failed.push(`HTTP ${reply.status} at ${Date.now() - t0} ${reply.body.slice(0, 80)}`);
        } catch (error) {
          results.http.failed.push((error as NodeJS.ErrnoException).code ?? String(error));
        }
      }
    });

    // gRPC: one channel balancing round-robin over both replicas, quick to reconnect.
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO)) as any;
    const client = new pkg.sample.Orders(`ipv4:${replicas.map((r) => `127.0.0.1:${r.grpc}`).join(',')}`, grpc.credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      'grpc.initial_reconnect_backoff_ms': 50,
      'grpc.max_reconnect_backoff_ms': 200,
    });
    const call = (id: number) =>
      new Promise<void>((resolve) =>
        client.GetOrder({ id, ms: 5 }, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null) => {
          if (error) results.grpc.failed.push(`${grpc.status[error.code]}: ${error.details}`);
          else results.grpc.ok++;
          resolve();
        }),
      );
    const grpcLoops = Array.from({ length: 4 }, async (_, i) => {
      while (running()) await call(i);
    });

    // gRPC, health-checked: per replica, a channel with a Watch on its health; calls go
    // round-robin to the replicas whose last status is SERVING, on that same channel. It
    // has no other address to fall back on: a call it gets after intake stopped fails.
    const served = { calls: 0, waits: 0, notServing: {} as Record<string, number> };
    const healthy = new Map<Replica, boolean>();
    const direct = new Map<Replica, any>();
    const channels: Array<{ close(): void }> = [];
    const watchLoops = replicas.map(async (r) => {
      while (running()) {
        const health = await healthClient(r.grpc);
        channels.push(health);
        direct.set(r, new pkg.sample.Orders(`127.0.0.1:${r.grpc}`, grpc.credentials.createInsecure(), { channelOverride: health.getChannel() }));
        const watch = watchHealth(health, '', (status) => {
          // Counted as a change: a Watch reopened on a replica already out hears NOT_SERVING again.
          if (status === 'NOT_SERVING' && healthy.get(r)) served.notServing[r.name] = (served.notServing[r.name] ?? 0) + 1;
          healthy.set(r, status === 'SERVING');
        });
        const stopping = setInterval(() => running() || watch.cancel(), 50);
        await watch.ended;
        clearInterval(stopping);
        healthy.set(r, false); // an ended (or refused) stream: nothing there says SERVING
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    let next = 0;
    const healthCheckedCall = async (id: number) => {
      const up = replicas.filter((r) => healthy.get(r));
      if (!up.length) {
        served.waits++;
        await new Promise((resolve) => setTimeout(resolve, 10));
        return;
      }
      const r = up[next++ % up.length]!;
      served.calls++;
      await new Promise<void>((resolve) =>
        direct.get(r)!.GetOrder({ id, ms: 5 }, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null) => {
          if (error) results.grpc.failed.push(`health-checked, ${r.name}: ${grpc.status[error.code]}: ${error.details}`);
          else results.grpc.ok++;
          resolve();
        }),
      );
    };
    const healthLoops = Array.from({ length: 4 }, async (_, i) => {
      while (running()) await healthCheckedCall(100 + i);
    });

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
    await until(async () => results.http.ok >= MIN_HTTP_REQUESTS, `${MIN_HTTP_REQUESTS} HTTP requests`, LOAD_LIMIT_MS);
    stop = true;
    await Promise.all([...httpLoops, ...grpcLoops, ...healthLoops, ...watchLoops]);
    agent.destroy();
    client.close();
    channels.forEach((c) => c.close());

    // On a failure, what HAProxy saw says where it came from.
    if (results.http.failed.length) console.log(haproxy.log.split('\n').filter((l) => !l.includes(' 200 ')).slice(0, 40).join('\n'));
    console.log(`rolling restart: HTTP ${results.http.ok} ok / ${results.http.failed.length} failed, gRPC ${results.grpc.ok} ok / ${results.grpc.failed.length} failed (${served.calls} health-checked), exits ${JSON.stringify(exits)}`);
    expect(results.http.failed).toEqual([]);
    expect(results.grpc.failed).toEqual([]);
    expect(results.http.ok).toBeGreaterThanOrEqual(MIN_HTTP_REQUESTS);
    expect(results.grpc.ok).toBeGreaterThan(0);
    // Each old replica said NOT_SERVING once, to a client that then sent it nothing more,
    // and every call it had been sent before was served: it was out before its intake stopped.
    expect(served.notServing).toEqual({ a: 1, b: 1 });
    expect(served.calls).toBeGreaterThan(0);
    expect(exits).toEqual({ a: 0, b: 0 });
  }, 180_000);
});

/**
 * Where the test protos live, and a grpc-js client for `work.proto`. Shared by the
 * fixtures (run from build/test/src) and the tests (run by Jest from test/), so paths
 * are found from the repository root, not from this file.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'test', 'proto'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/proto not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const WORK_PROTO = path.join(repoRoot(), 'test', 'proto', 'work.proto');

export interface SlowReply {
  id: number;
  status: string;
}

/** A free loopback port, for a server (gRPC) that cannot report the port it bound. */
export { freePort } from '../helpers/ports.js';

type WorkClient = grpc.Client & Record<string, (...args: any[]) => any>;

/** A client of the `quittest.Work` service; each call to this function is its own channel. */
export function workClient(port: number): WorkClient {
  const definition = protoLoader.loadSync(WORK_PROTO);
  const pkg = grpc.loadPackageDefinition(definition) as any;
  return new pkg.quittest.Work(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as WorkClient;
}

export interface CallResult {
  code: grpc.status;
  reply?: SlowReply;
}

/** One unary `Slow` call; resolves with its status code (never rejects). */
export function slow(client: WorkClient, request: { id: number; ms: number; hold?: boolean }): Promise<CallResult> {
  return new Promise((resolve) => {
    client.Slow(request, (error: grpc.ServiceError | null, reply?: SlowReply) => {
      resolve(error ? { code: error.code } : { code: grpc.status.OK, reply });
    });
  });
}

export interface StreamResult {
  code: grpc.status;
  ticks: number;
}

/** Opens a server stream (`Watch` or `Forever`); `opened` resolves at the first tick, `ended` with the final status. */
export function serverStream(client: WorkClient, method: 'Watch' | 'Forever', intervalMs: number) {
  const call = client[method]({ intervalMs }) as grpc.ClientReadableStream<{ n: number }>;
  let ticks = 0;
  let first: () => void;
  const opened = new Promise<void>((resolve) => (first = resolve));
  call.on('data', () => {
    ticks++;
    first();
  });
  call.on('error', () => undefined); // the status below carries the code
  const ended = new Promise<StreamResult>((resolve) => call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, ticks })));
  return { opened, ended };
}

type HealthClient = grpc.Client & Record<string, (...args: any[]) => any>;

/**
 * A client of the standard `grpc.health.v1.Health` service, built from the proto that
 * grpc-health-check ships (what Kubernetes' gRPC probe and grpc_health_probe ask).
 */
export async function healthClient(port: number): Promise<HealthClient> {
  const { protoPath } = (await import('grpc-health-check')) as { protoPath: string };
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true, enums: String })) as any;
  return new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as HealthClient;
}

export interface CheckResult {
  code: grpc.status;
  status?: string;
}

/** One `Check`; resolves with the call's code and the serving status (never rejects). */
export function check(client: HealthClient, service = ''): Promise<CheckResult> {
  return new Promise((resolve) => {
    client.Check({ service }, (error: grpc.ServiceError | null, reply?: { status: string }) => {
      resolve(error ? { code: error.code } : { code: grpc.status.OK, status: reply?.status });
    });
  });
}

/**
 * A `Watch` stream: every status it delivered, in order (each also given to `onStatus`),
 * `next(n)` waits for the n-th, `ended` for the final code.
 */
export function watchHealth(client: HealthClient, service = '', onStatus?: (status: string) => void) {
  const call = client.Watch({ service }) as grpc.ClientReadableStream<{ status: string }>;
  const statuses: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  call.on('data', (m: { status: string }) => {
    statuses.push(m.status);
    onStatus?.(m.status);
    for (const w of waiters.filter((w) => statuses.length >= w.n)) w.resolve();
  });
  call.on('error', () => undefined); // the status below carries the code
  const ended = new Promise<grpc.status>((resolve) => call.on('status', (s: grpc.StatusObject) => resolve(s.code)));
  const next = (n: number) =>
    statuses.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }));
  return { statuses, next, ended, cancel: () => call.cancel() };
}
